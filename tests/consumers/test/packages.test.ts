import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { packAll } from './lib/pack.js'
import { mustRun, run } from './lib/run.js'
import { ROOT, publishablePackages } from './lib/workspace.js'

const REPOSITORY = 'https://github.com/fastify-device-grant/fastify-device-grant'
const bin = (name: string) => join(ROOT, 'tests/consumers/node_modules/.bin', name)
const tarballDir = mkdtempSync(join(tmpdir(), 'device-grant-lint-'))
t.teardown(() => rmSync(tarballDir, { recursive: true, force: true }))

const packed = await packAll(tarballDir)
const own = JSON.parse(readFileSync(join(ROOT, 'tests/consumers/package.json'), 'utf8')) as { devDependencies: Record<string, string> }

for (const { dir, manifest } of publishablePackages()) {
  t.test(`${manifest.name} carries what the registry page and installers need`, async t => {
    t.ok(existsSync(join(ROOT, dir, 'LICENSE')), 'a LICENSE file')
    t.equal(manifest.license, 'MIT')
    t.match(manifest, {
      repository: { type: 'git', url: `git+${REPOSITORY}.git`, directory: dir },
      homepage: `${REPOSITORY}/tree/main/${dir}#readme`,
      bugs: { url: `${REPOSITORY}/issues` },
      engines: { node: '>=20.19' },
      author: String,
      keywords: Array,
      scripts: { prepack: /^node \.\.\/\.\.\/scripts\/prepack\.mjs( && |$)/ }
    })
    t.ok((manifest.keywords as string[]).includes('rfc8628'), 'found by a search for rfc8628')
    // turbo builds a package before these tests only if this package depends on it.
    t.equal(own.devDependencies[manifest.name], 'workspace:*', `tests/consumers/package.json lists ${manifest.name} in devDependencies`)
  })

  t.test(`${manifest.name}'s README links and images work on the registry page`, async t => {
    const readme = readFileSync(join(ROOT, dir, 'README.md'), 'utf8')
    const relative = [...readme.matchAll(/!?\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img [^>]*src="([^"]+)"/g)]
      .map(m => m[1] ?? m[2] ?? '')
      .filter(target => !/^(https?:|mailto:|#)/.test(target))
    t.same(relative, [], 'only absolute URLs and in-page anchors')
  })
}

for (const { manifest, tarball } of packed) {
  t.test(`${manifest.name}'s tarball has its build, its license and no workspace: range`, async t => {
    const listing = await mustRun('tar', ['-tzf', tarball], { cwd: tarballDir, timeoutMs: 30_000 })
    const files = listing.split('\n').filter(f => f !== '')
    t.ok(files.includes('package/LICENSE'), 'LICENSE')
    t.ok(files.includes('package/dist/index.js') && files.includes('package/dist/index.d.ts'), 'dist/index.js and its types')
    t.notOk(files.some(f => f.endsWith('.d.ts.map')), 'no declaration maps (they would point at sources that are not shipped)')
    const packedManifest = await mustRun('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: tarballDir, timeoutMs: 30_000 })
    t.notMatch(packedManifest, /workspace:/)
    const map = files.find(f => f.endsWith('.js.map'))
    if (map !== undefined) {
      const text = await mustRun('tar', ['-xzOf', tarball, map], { cwd: tarballDir, timeoutMs: 30_000 })
      t.ok(Array.isArray((JSON.parse(text) as { sourcesContent?: unknown }).sourcesContent), `${map} carries its sources`)
    }
  })

  t.test(`publint finds nothing in ${manifest.name}`, async t => {
    const result = await run(bin('publint'), ['run', tarball, '--strict', '--level', 'suggestion'], { cwd: tarballDir, timeoutMs: 120_000 })
    t.equal(result.code, 0, result.code === 0 ? 'exits 0' : result.output)
    t.match(result.output, /All good!/)
  })

  // Ignored rule: "CJSResolvesToESM" (node16 from CommonJS: "ESM, dynamic import only"). attw
  // models Node before require(esm); from Node 20.19 require() loads these ESM packages, and
  // TypeScript accepts it under module nodenext (5.8+) and node20 (5.9). The CommonJS projects of
  // consumers.test.ts prove both. See the root README, "CommonJS and ESM". Profile node16: the
  // node10 resolution (TypeScript's moduleResolution "node") predates exports maps, so subpaths
  // such as @device-grant/store-postgres/sql cannot resolve there; Node 20.19+ users never use it.
  // Only the typed entry points: the others are files (a Prisma schema fragment, SQL migrations, a
  // generate script) that attw, which resolves modules, reports as unresolvable.
  const exportsField = (manifest.exports ?? {}) as Record<string, unknown>
  const untyped = Object.keys(exportsField).filter(key => !(typeof exportsField[key] === 'object' && exportsField[key] !== null && 'types' in exportsField[key]))
  t.test(`arethetypeswrong finds nothing in ${manifest.name} (require(esm) aside)`, async t => {
    const exclude = untyped.length === 0 ? [] : ['--exclude-entrypoints', ...untyped]
    const result = await run(bin('attw'), [tarball, '--profile', 'node16', '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii', ...exclude], { cwd: tarballDir, timeoutMs: 120_000 })
    t.equal(result.code, 0, result.code === 0 ? 'exits 0' : result.output)
  })
}
