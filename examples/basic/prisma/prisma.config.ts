// Config for `prisma generate` (scripts/generate.mjs). Prisma 7 wants a datasource URL even to
// generate; nothing connects with it. The server reads DATABASE_URL itself (src/store.ts).
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: '../src/generated/schema.prisma',
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' }
})
