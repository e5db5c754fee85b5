import { storeSuite } from '../../src/index.js'
import type { CaseOptions, StoreFactory, StoreSuiteOptions } from '../../src/index.js'

export type CollectedCase = [name: string, fn: () => Promise<void>, options: CaseOptions]

/** The cases `storeSuite` registers, kept instead of run: a TestFn that only records. */
export async function collect (factory: StoreFactory, options?: StoreSuiteOptions): Promise<CollectedCase[]> {
  const cases: CollectedCase[] = []
  await storeSuite((name, fn, caseOptions) => { cases.push([name, fn, caseOptions]) }, factory, options)
  return cases
}

/** Runs every case not registered as skipped, one after another; resolves each failure by name. */
export async function failures (cases: CollectedCase[]): Promise<Map<string, unknown>> {
  const failed = new Map<string, unknown>()
  for (const [name, fn, options] of cases) {
    if (options.skip !== undefined) continue
    try {
      await fn()
    } catch (err) {
      failed.set(name, err)
    }
  }
  return failed
}
