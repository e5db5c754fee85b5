// Generates the Prisma client the bench's Prisma server uses into generated/ (git-ignored), from
// prisma/generator.prisma + the fragment @device-grant/store-prisma ships. Offline-safe:
// PRISMA_SCHEMA_ENGINE_BINARY=/bin/false, since only migrate needs the schema engine.
// `build` and `typecheck` both run this and turbo may run them in parallel: a lock directory
// serializes the runs, and unchanged inputs make it a no-op.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'generated')
const lock = join(out, '.lock')
const stamp = join(out, 'client', '.inputs-hash')
const require = createRequire(import.meta.url)
const prismaPackage = require.resolve('prisma/package.json')
const prismaCli = join(dirname(prismaPackage), 'build', 'index.js')
const fragment = require.resolve('@device-grant/store-prisma/prisma/device-grant.prisma')

const schema = readFileSync(join(root, 'prisma', 'generator.prisma'), 'utf8') + '\n' + readFileSync(fragment, 'utf8')
const inputsHash = createHash('sha256')
  .update(schema)
  .update(readFileSync(prismaPackage))
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function acquire () {
  mkdirSync(out, { recursive: true })
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      mkdirSync(lock)
      return
    } catch (err) {
      if (err.code !== 'EEXIST') throw err
    }
    // A lock older than two minutes was left by a killed run.
    try {
      if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true })
    } catch {}
    if (Date.now() > deadline) throw new Error(`could not take ${lock}`)
    await sleep(100)
  }
}

await acquire()
try {
  const current = existsSync(stamp) ? readFileSync(stamp, 'utf8') : ''
  if (current !== inputsHash) {
    mkdirSync(join(out, 'schema'), { recursive: true })
    writeFileSync(join(out, 'schema', 'schema.prisma'), schema)
    const env = { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' }
    if (env.PRISMA_SCHEMA_ENGINE_BINARY === undefined && process.platform !== 'win32') env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/false'
    const result = spawnSync(process.execPath, [prismaCli, 'generate', '--config', join(root, 'prisma', 'prisma.config.ts')], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit']
    })
    if (result.status !== 0) {
      process.exitCode = result.status ?? 1
    } else {
      writeFileSync(stamp, inputsHash)
    }
  }
} finally {
  rmSync(lock, { recursive: true, force: true })
}
