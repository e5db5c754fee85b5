// The client the bench's Prisma server uses: prisma/generator.prisma + the fragment
// @device-grant/store-prisma ships, into generated/ (git-ignored).
import { fileURLToPath } from 'node:url'
import { generatePrismaClient } from '@device-grant/store-prisma/generate'

process.exitCode = await generatePrismaClient({
  root: fileURLToPath(new URL('..', import.meta.url)),
  base: 'prisma/generator.prisma',
  out: 'generated',
  schema: 'schema/schema.prisma',
  config: 'prisma/prisma.config.ts'
})
