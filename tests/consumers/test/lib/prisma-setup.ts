import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cleanEnv, mustRun } from './run.js'
import { ROOT } from './workspace.js'

const INSTALLED = 'node_modules/@device-grant/store-prisma'

/**
 * The store-prisma README's steps 1 and 3, as a new user follows them, offline: the README's
 * generator block + a datasource + the model fragment from the installed package into
 * prisma/schema.prisma, then `prisma generate` with the schema engine download turned off.
 */
export async function preparePrisma (projectDir: string): Promise<void> {
  const readme = readFileSync(join(ROOT, 'packages/store-prisma/README.md'), 'utf8')
  const generator = [...readme.matchAll(/```prisma\n(generator [\s\S]*?)```/g)][0]?.[1]
  if (generator === undefined) throw new Error('packages/store-prisma/README.md shows no ```prisma generator block')
  const fragment = readFileSync(join(projectDir, INSTALLED, 'prisma/device-grant.prisma'), 'utf8')
  mkdirSync(join(projectDir, 'prisma'), { recursive: true })
  writeFileSync(join(projectDir, 'prisma/schema.prisma'), `${generator}\ndatasource db {\n  provider = "postgresql"\n}\n\n${fragment}`)
  writeFileSync(join(projectDir, 'prisma.config.ts'), `import { defineConfig } from 'prisma/config'
export default defineConfig({
  schema: 'prisma/schema.prisma',
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test' }
})
`)
  await mustRun(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
    cwd: projectDir,
    env: cleanEnv({ PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false', CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' }),
    timeoutMs: 120_000
  })
}

export interface ThrowAwaySchema {
  name: string
  /** DATABASE_URL. */
  url: string
  /** DATABASE_URL with the schema as the search_path: unqualified SQL (node-postgres) lands there. */
  searchPathUrl: string
  drop: () => Promise<void>
}

/**
 * A schema of its own on the shared PostgreSQL, with the table made the README's plain SQL way
 * (`psql -f` on the shipped migration), dropped at the end.
 */
export async function throwAwaySchema (projectDir: string): Promise<ThrowAwaySchema> {
  const base = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test'
  const name = `docs_${randomBytes(6).toString('hex')}`
  const migrations = join(projectDir, INSTALLED, 'migrations')
  const sql = readdirSync(migrations).sort().map(dir => join(migrations, dir, 'migration.sql'))
  const psql = (args: string[], env: NodeJS.ProcessEnv = {}) => mustRun('psql', ['-v', 'ON_ERROR_STOP=1', '-q', base, ...args], { cwd: projectDir, env: cleanEnv(env), timeoutMs: 30_000 })
  await psql(['-c', `CREATE SCHEMA "${name}"`])
  for (const file of sql) await psql(['-f', file], { PGOPTIONS: `-c search_path=${name}` })
  const searchPathUrl = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${name}`)}`
  return { name, url: base, searchPathUrl, drop: async () => { await psql(['-c', `DROP SCHEMA IF EXISTS "${name}" CASCADE`]) } }
}
