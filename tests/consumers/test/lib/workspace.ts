import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

export interface Manifest {
  name: string
  version: string
  private?: boolean
  [field: string]: unknown
}

export interface PublishablePackage {
  /** Folder relative to the repository root, e.g. `packages/core`. */
  dir: string
  manifest: Manifest
}

/** Every package of `packages/*` that is not private: what `changeset publish` would publish. */
export function publishablePackages (): PublishablePackage[] {
  return readdirSync(join(ROOT, 'packages'))
    .map(name => `packages/${name}`)
    .filter(dir => existsSync(join(ROOT, dir, 'package.json')))
    .map(dir => ({ dir, manifest: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest }))
    .filter(p => p.manifest.private !== true)
}

/** Every README.md in the repository and every page of docs/, as tracked by git. */
export function documentationFiles (): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '*README.md', 'docs/*.md'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter(file => file !== '' && !file.includes('node_modules/') && existsSync(join(ROOT, file)))
    .sort()
}

/**
 * The version range the workspace itself uses for a registry dependency (the first package.json
 * that names it), so that fresh projects install what the repository is tested with.
 */
export function workspaceRange (name: string): string | undefined {
  const manifests = ['packages', 'examples', 'tests']
    .flatMap(group => existsSync(join(ROOT, group)) ? readdirSync(join(ROOT, group)).map(d => join(ROOT, group, d, 'package.json')) : [])
    .concat(join(ROOT, 'package.json'))
    .filter(file => existsSync(file))
  for (const file of manifests) {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      const range = manifest[field]?.[name]
      if (range !== undefined && !range.startsWith('workspace:')) return range
    }
  }
  return undefined
}
