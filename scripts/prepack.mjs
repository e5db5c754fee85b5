#!/usr/bin/env node
// Every publishable package's `prepack`: no tarball leaves this repository without a fresh build,
// and none leaves with a `workspace:` range in it.
//
// pnpm (pack and publish) rewrites `workspace:^` to the real version; npm copies it verbatim,
// which makes the tarball uninstallable. So npm is refused here, loudly, before anything is built.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const packageDir = process.cwd()
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))
const agent = process.env.npm_config_user_agent ?? ''

const workspaceRanges = ['dependencies', 'peerDependencies', 'optionalDependencies']
  .flatMap(field => Object.entries(manifest[field] ?? {}))
  .filter(([, range]) => String(range).startsWith('workspace:'))
  .map(([name, range]) => `${name}@${range}`)

if (!agent.startsWith('pnpm/') && workspaceRanges.length > 0) {
  console.error(`${manifest.name}: pack and publish with pnpm (\`pnpm pack\`, \`pnpm publish\`), not ${agent.split(' ')[0] || 'this tool'}.
It would ship ${workspaceRanges.join(', ')} unrewritten, and nobody could install the tarball.
See RELEASING.md.`)
  process.exit(1)
}

// tests/consumers packs right after turbo has built every package, while other packages' tests
// read those builds: it sets this so that the build is not replaced under their feet.
if (process.env.DEVICE_GRANT_PREPACK_BUILT === '1') process.exit(0)

// A clean dist: files of renamed or deleted sources must not ship. turbo builds the package's
// workspace dependencies first (their types are needed), from its cache when nothing changed.
rmSync(join(packageDir, 'dist'), { recursive: true, force: true })
execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', `--filter=${manifest.name}...`, '--output-logs=errors-only'], {
  cwd: root,
  stdio: ['ignore', 'inherit', 'inherit']
})
