import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PackedPackage } from './pack.js'
import { cleanEnv, mustRun } from './run.js'
import { workspaceRange } from './workspace.js'

export interface FreshProject {
  dir: string
  remove: () => void
}

/**
 * A new npm project in the system's temporary folder (outside the workspace, so nothing of it
 * can be resolved from there) with the tarballs installed, and from the registry only their own
 * dependencies and the `extra` packages named (at the ranges the workspace uses). npm's cache
 * (~/.npm) is shared between runs, so a repeat install does not download again.
 */
export async function freshProject (name: string, type: 'module' | 'commonjs', tarballs: readonly PackedPackage[], extra: readonly string[]): Promise<FreshProject> {
  const dir = mkdtempSync(join(tmpdir(), `device-grant-${name}-`))
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, private: true, version: '1.0.0', type }, null, 2))
  const specs = [
    ...tarballs.map(p => p.tarball),
    ...extra.map(dep => {
      const range = workspaceRange(dep)
      return range === undefined ? dep : `${dep}@${range}`
    })
  ]
  await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...specs], {
    cwd: dir,
    env: cleanEnv({ npm_config_ignore_scripts: 'true' }),
    timeoutMs: 240_000
  })
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export function writeFiles (dir: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
}
