// Generates a Prisma client from a base schema (generator + datasource) followed by the fragment
// this package ships, offline: Prisma 7 needs the schema engine only for migrate/db commands, so
// PRISMA_SCHEMA_ENGINE_BINARY=/bin/false stops `prisma generate` from trying to download it.
// This package's tests, the example and the bench all generate their clients through it.
//
// turbo runs `build`, `typecheck` and `test` in parallel and each may call this: a lock directory
// serializes the runs, and a run whose inputs are unchanged since the last generation is a no-op.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const fragment = fileURLToPath(new URL('../prisma/device-grant.prisma', import.meta.url))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * @param {object} options
 * @param {string} options.root the calling package's folder (its node_modules holds the lock and `prisma`)
 * @param {string} options.base the base schema, relative to root
 * @param {string} options.out the git-ignored output folder, relative to root; emptied before each generation
 * @param {string} options.schema where the joined schema is written, relative to out (the config's `schema`)
 * @param {string} options.config the `prisma.config.ts`, relative to root
 * @returns {Promise<number>} the exit status of `prisma generate` (0 when nothing had to be done)
 */
export async function generatePrismaClient ({ root, base, out, schema, config }) {
  const outDir = join(root, out)
  const lock = join(root, 'node_modules', '.prisma-generate.lock')
  const stamp = join(outDir, '.inputs-hash')
  const prismaPackage = createRequire(join(root, 'package.json')).resolve('prisma/package.json')
  const text = readFileSync(join(root, base), 'utf8') + '\n' + readFileSync(fragment, 'utf8')
  const inputsHash = createHash('sha256')
    .update(text)
    .update(readFileSync(prismaPackage))
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest('hex')

  await acquire(lock)
  try {
    if (existsSync(stamp) && readFileSync(stamp, 'utf8') === inputsHash) return 0
    // Start clean: a client generated from an older schema may have files this one does not.
    rmSync(outDir, { recursive: true, force: true })
    mkdirSync(dirname(join(outDir, schema)), { recursive: true })
    writeFileSync(join(outDir, schema), text)
    const env = { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' }
    if (env.PRISMA_SCHEMA_ENGINE_BINARY === undefined && process.platform !== 'win32') env.PRISMA_SCHEMA_ENGINE_BINARY = '/bin/false'
    const prismaCli = join(dirname(prismaPackage), 'build', 'index.js')
    const result = spawnSync(process.execPath, [prismaCli, 'generate', '--config', join(root, config)], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit']
    })
    if (result.status === 0) writeFileSync(stamp, inputsHash)
    return result.status ?? 1
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

async function acquire (lock) {
  mkdirSync(dirname(lock), { recursive: true })
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
