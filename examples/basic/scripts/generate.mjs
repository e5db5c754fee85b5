// The client the example's prisma store uses: prisma/generator.prisma + the fragment
// @device-grant/store-prisma ships, so it matches exactly what users paste. It goes into
// src/generated/ (git-ignored) because tsc compiles it with the server; `build` and `typecheck`
// run this for every store.
import { fileURLToPath } from 'node:url'
import { generatePrismaClient } from '@device-grant/store-prisma/generate'

process.exitCode = await generatePrismaClient({
  root: fileURLToPath(new URL('..', import.meta.url)),
  base: 'prisma/generator.prisma',
  out: 'src/generated',
  schema: 'schema.prisma',
  config: 'prisma/prisma.config.ts'
})
