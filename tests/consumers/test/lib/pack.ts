import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, publishablePackages, type PublishablePackage } from './workspace.js'
import { cleanEnv, mustRun } from './run.js'

export interface PackedPackage extends PublishablePackage {
  tarball: string
}

/**
 * `pnpm pack`s every publishable package into `destination`, as a release does (pnpm rewrites
 * `workspace:` ranges; each `prepack` runs). turbo has built them already (this package depends
 * on each one), so DEVICE_GRANT_PREPACK_BUILT tells scripts/prepack.mjs not to build again: that
 * would replace `dist` under the feet of the tests that run beside this one.
 */
export async function packAll (destination: string): Promise<PackedPackage[]> {
  mkdirSync(destination, { recursive: true })
  const packed: PackedPackage[] = []
  for (const pkg of publishablePackages()) {
    const output = await mustRun('pnpm', ['pack', '--pack-destination', destination], {
      cwd: join(ROOT, pkg.dir),
      env: cleanEnv({ DEVICE_GRANT_PREPACK_BUILT: '1' }),
      timeoutMs: 60_000
    })
    const tarball = output.trim().split('\n').map(line => line.trim()).reverse().find(line => line.endsWith('.tgz'))
    if (tarball === undefined) throw new Error(`pnpm pack printed no tarball for ${pkg.manifest.name}:\n${output}`)
    packed.push({ ...pkg, tarball })
  }
  return packed
}
