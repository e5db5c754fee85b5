import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { blockFileName, bareImports, codeBlocks } from './lib/markdown.js'
import { packAll } from './lib/pack.js'
import { freshProject } from './lib/project.js'
import { cleanEnv, run } from './lib/run.js'
import { documentationFiles, workspaceRange } from './lib/workspace.js'
import { preparePrisma, throwAwaySchema } from './lib/prisma-setup.js'

// Every ```ts / ```js block of every README and docs page, typechecked strictly against the
// packages as installed from their tarballs; whole programs are then run (see lib/markdown.ts).
const blocks = documentationFiles().flatMap(codeBlocks)
const tarballDir = mkdtempSync(join(tmpdir(), 'device-grant-docs-tarballs-'))
t.teardown(() => rmSync(tarballDir, { recursive: true, force: true }))
const packed = await packAll(tarballDir)
const ours = new Set(packed.map(p => p.manifest.name))
const imported = [...new Set(blocks.flatMap(b => bareImports(b.code)))].filter(name => !ours.has(name))
const usesPrisma = blocks.some(b => b.code.includes('./generated/prisma/client.js'))
const typings = imported.map(name => `@types/${name.replace(/^@(.*)\//, '$1__')}`).filter(name => workspaceRange(name) !== undefined)
const project = await freshProject('docs', 'module', packed, [
  ...imported, ...typings, 'typescript', '@types/node', ...(usesPrisma ? ['prisma', '@prisma/client'] : [])
])
t.teardown(() => project.remove())

const src = join(project.dir, 'src')
mkdirSync(src, { recursive: true })
const fixtures = new URL('../fixtures/', import.meta.url)
copyFileSync(new URL('src/index.ts', fixtures), join(src, 'index.ts'))
for (const file of ['docs-prelude.d.ts', 'listen-runs-flow.mjs']) copyFileSync(new URL(file, fixtures), join(project.dir, file))
for (const block of blocks) writeFileSync(join(src, blockFileName(block)), `${block.code}\n${block.fragment ? 'export {}\n' : ''}`)
if (usesPrisma) {
  await preparePrisma(project.dir)
  copyFileSync(new URL('postgres-flow.ts', fixtures), join(src, 'postgres-flow.ts'))
}

const compilerOptions = {
  target: 'es2022',
  module: 'nodenext',
  strict: true,
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  types: ['node'],
  rootDir: '.',
  outDir: 'out'
}
const whole = blocks.filter(b => !b.fragment)
const fragments = blocks.filter(b => b.fragment)
writeFileSync(join(project.dir, 'tsconfig.whole.json'), JSON.stringify({
  compilerOptions,
  files: [...whole.map(b => `src/${blockFileName(b)}`), ...(usesPrisma ? ['src/postgres-flow.ts'] : [])]
}))
writeFileSync(join(project.dir, 'tsconfig.fragments.json'), JSON.stringify({
  compilerOptions,
  files: ['docs-prelude.d.ts', ...fragments.map(b => `src/${blockFileName(b)}`)]
}))

/** tsc's errors, by the file they are in. */
async function typecheck (tsconfig: string): Promise<Map<string, string[]>> {
  const tsc = join(project.dir, 'node_modules/typescript/bin/tsc')
  const result = await run(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], { cwd: project.dir, timeoutMs: 240_000 })
  if (result.timedOut) throw new Error(`tsc -p ${tsconfig} timed out:\n${result.output}`)
  const errors = new Map<string, string[]>()
  let last: string[] | undefined
  for (const line of result.output.split('\n')) {
    const at = /^(\S[^(]*)\(\d+,\d+\): error /.exec(line)
    if (at !== null) {
      const file = (at[1] ?? '').replace(/^src\//, '')
      last = errors.get(file) ?? []
      errors.set(file, last)
      last.push(line)
    } else if (line.trim() !== '') {
      if (last === undefined) errors.set('(tsc)', [...(errors.get('(tsc)') ?? []), line])
      else last.push(line)
    }
  }
  return errors
}
const errors = new Map([...await typecheck('tsconfig.whole.json'), ...await typecheck('tsconfig.fragments.json')])
const blockFiles = new Set(blocks.map(blockFileName))
const schema = await throwAwaySchema(project.dir)
t.teardown(() => schema.drop())

t.test('the documentation has code blocks to check', async t => {
  t.ok(blocks.length >= 10, `${blocks.length} blocks`)
  t.ok(whole.length >= 1, `${whole.length} whole programs`)
})

t.test('nothing outside the blocks fails to compile (prelude, fixtures, generated client)', async t => {
  t.same([...errors].filter(([file]) => !blockFiles.has(file) && file !== 'postgres-flow.ts'), [])
})

for (const block of blocks) {
  const name = blockFileName(block)
  const where = `${block.file}:${block.line}`
  t.test(`${where} typechecks${block.fragment ? ' (a fragment)' : ''}`, async t => {
    t.same(errors.get(name) ?? [], [], 'no type errors')
  })
  if (block.fragment) continue
  t.test(`${where} runs`, async t => {
    const file = join('out/src', name.replace(/\.ts$/, '.js'))
    const clientId = /clientId: '([^']+)'/.exec(block.code)?.[1]
    const result = await run(process.execPath, ['--import', './listen-runs-flow.mjs', file], {
      cwd: project.dir,
      env: cleanEnv({
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        DATABASE_URL: schema.searchPathUrl,
        DEVICE_GRANT_SCHEMA: schema.name,
        ...(clientId !== undefined && { DOCS_CLIENT_ID: clientId })
      }),
      timeoutMs: 60_000
    })
    t.equal(result.timedOut, false, 'finishes by itself (closes what it opens)')
    t.equal(result.code, 0, result.code === 0 ? 'exits 0' : result.output)
    if (/\.listen\(/.test(block.code)) t.match(result.output, /docs: signed a device in/, 'a device signs in on the app it serves')
  })
}

// The Redis store's setup as its README shows it is a whole program (above): run as written
// against the real Redis, its listen() signs a device in from the first request, then it must
// close cleanly. The keys it writes are random and expire with their grants.
t.test('the store-redis README setup is a whole program, run against the real Redis', async t => {
  t.ok(blocks.some(b => b.file === 'packages/store-redis/README.md' && !b.fragment && b.code.includes('new RedisStore(') && b.code.includes('.listen(')))
})

// The PostgreSQL setup as the store-prisma README shows it, against the real server: the client
// generated from the README's generator block (preparePrisma), the table from the shipped SQL in
// a throw-away schema (throwAwaySchema), the store as step 4 makes it (fixtures/postgres-flow.ts).
t.test('the store-prisma README setup serves from the first request and closes cleanly', async t => {
  t.ok(usesPrisma, 'a README imports a generated Prisma client')
  if (!usesPrisma) return
  t.same(errors.get('postgres-flow.ts') ?? [], [], 'no type errors')
  const result = await run(process.execPath, ['out/src/postgres-flow.js'], {
    cwd: project.dir,
    env: cleanEnv({ DATABASE_URL: schema.url, DEVICE_GRANT_SCHEMA: schema.name }),
    timeoutMs: 60_000
  })
  t.equal(result.timedOut, false, 'exits by itself once the app is closed')
  t.equal(result.code, 0, result.code === 0 ? 'exits 0' : result.output)
  t.match(result.output, /"access_token":"token-of-alice"/)
})
