import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { CJS_JS, ESM_JS, TS_CJS, TS_ESM, tsconfig } from './lib/flow.js'
import { packAll } from './lib/pack.js'
import { freshProject, writeFiles } from './lib/project.js'
import { mustRun } from './lib/run.js'

const tarballDir = mkdtempSync(join(tmpdir(), 'device-grant-tarballs-'))
t.teardown(() => rmSync(tarballDir, { recursive: true, force: true }))
const packed = await packAll(tarballDir)
const typescript = ['fastify', 'typescript', '@types/node']
// The two kinds of project npm users have: "type": "module", and npm init's default, CommonJS.
const [esm, cjs] = await Promise.all([
  freshProject('esm', 'module', packed, typescript),
  freshProject('cjs', 'commonjs', packed, typescript)
])
t.teardown(() => { esm.remove(); cjs.remove() })
const node = (dir: string, file: string) => mustRun(process.execPath, [file], { cwd: dir, timeoutMs: 30_000 })
const tsc = (dir: string, project: string) => mustRun(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: dir, timeoutMs: 120_000 })
const SIGNED_IN = /"access_token":"token-of-alice"/

t.test('an ESM JavaScript project imports the packages and signs a device in', async t => {
  writeFiles(esm.dir, { 'flow.js': ESM_JS })
  t.match(await node(esm.dir, 'flow.js'), SIGNED_IN)
})

t.test('a CommonJS JavaScript project requires the packages and signs a device in', async t => {
  writeFiles(cjs.dir, { 'flow.js': CJS_JS })
  t.match(await node(cjs.dir, 'flow.js'), SIGNED_IN)
})

// require(esm) refuses a module graph with top-level await (ERR_REQUIRE_ASYNC_MODULE): loading
// each package, as CommonJS, proves none has any.
t.test('every package loads with require() in a CommonJS project', async t => {
  const names = packed.map(p => p.manifest.name)
  writeFiles(cjs.dir, { 'require-all.js': `for (const name of ${JSON.stringify(names)}) console.log(name, Object.keys(require(name)).length > 0)\n` })
  const output = await node(cjs.dir, 'require-all.js')
  for (const name of names) t.match(output, `${name} true`)
})

// The declaration files themselves are checked once (skipLibCheck false), here.
t.test('a TypeScript ESM project (module nodenext) typechecks, builds and signs a device in', async t => {
  writeFiles(esm.dir, { 'flow-ts.ts': TS_ESM, 'tsconfig.nodenext.json': tsconfig({ module: 'nodenext' }, ['flow-ts.ts']) })
  await tsc(esm.dir, 'tsconfig.nodenext.json')
  t.match(await node(esm.dir, 'out/flow-ts.js'), SIGNED_IN)
})

t.test('a TypeScript CommonJS project (module nodenext) typechecks, builds to require() and signs a device in', async t => {
  writeFiles(cjs.dir, { 'flow-ts.ts': TS_CJS, 'tsconfig.nodenext.json': tsconfig({ module: 'nodenext', skipLibCheck: true }, ['flow-ts.ts']) })
  await tsc(cjs.dir, 'tsconfig.nodenext.json')
  t.match(await node(cjs.dir, 'out/flow-ts.js'), SIGNED_IN)
})

t.test('a TypeScript project on moduleResolution bundler typechecks', async t => {
  writeFiles(esm.dir, { 'tsconfig.bundler.json': tsconfig({ module: 'preserve', moduleResolution: 'bundler', noEmit: true, skipLibCheck: true }, ['flow-ts.ts']) })
  await tsc(esm.dir, 'tsconfig.bundler.json')
  t.pass('no type errors')
})

t.test('a TypeScript ESM project on module node16 typechecks', async t => {
  writeFiles(esm.dir, { 'tsconfig.node16.json': tsconfig({ module: 'node16', noEmit: true, skipLibCheck: true }, ['flow-ts.ts']) })
  await tsc(esm.dir, 'tsconfig.node16.json')
  t.pass('no type errors')
})
