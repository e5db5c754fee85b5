import { storeSuite } from '../../src/index.js'
import type { StoreFactory, StoreSuiteOptions } from '../../src/index.js'

export type CollectedCase = [name: string, fn: () => Promise<void>]

/** The cases `storeSuite` registers, kept instead of run: a TestFn that only records. */
export function collect (factory: StoreFactory, options?: StoreSuiteOptions): CollectedCase[] {
  const cases: CollectedCase[] = []
  storeSuite((name, fn) => { cases.push([name, fn]) }, factory, options)
  return cases
}

/** Runs every case one after another; resolves the error of each that failed, by name. */
export async function failures (cases: CollectedCase[]): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>()
  for (const [name, fn] of cases) {
    try {
      await fn()
    } catch (err) {
      failed.set(name, err)
    }
  }
  return failed
}
