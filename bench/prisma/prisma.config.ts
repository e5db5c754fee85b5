// Config for `prisma generate` only (see scripts/generate.mjs). Prisma 7 wants a datasource URL
// even to generate; nothing connects with it.
import { defineConfig } from 'prisma/config'

export default defineConfig({
  schema: '../generated/schema/schema.prisma',
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' }
})
