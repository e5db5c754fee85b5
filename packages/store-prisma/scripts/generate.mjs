// The client the tests use: test/generator.prisma + the shipped fragment, into generated/.
import { fileURLToPath } from 'node:url'
import { generatePrismaClient } from './prisma-generate.mjs'

process.exitCode = await generatePrismaClient({
  root: fileURLToPath(new URL('..', import.meta.url)),
  base: 'test/generator.prisma',
  out: 'generated',
  schema: 'schema/schema.prisma',
  config: 'test/prisma.config.ts'
})
