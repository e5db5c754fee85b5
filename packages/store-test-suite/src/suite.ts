import type { DeviceGrantStore } from '@device-grant/core'
import type { Capability, Case, Group } from './case.js'
import { missingReason, supportOf } from './support.js'
import type { StoreSupport } from './support.js'

/** How a case is registered: `skip` is set (the reason) when the case does not apply. */
export interface CaseOptions {
  skip?: string
}

/**
 * The runner's test function. Pass the options on so skipped cases show as skipped:
 * `(name, fn, options) => t.test(name, options, fn)` for tap,
 * `(name, fn, options) => test(name, options, fn)` for `node:test`.
 * A case fails by throwing (an `AssertionError`).
 */
export type TestFn = (name: string, fn: () => Promise<void>, options: CaseOptions) => unknown

export interface StoreSuiteOptions {
  /** Prefix of every test name, e.g. 'redis'. */
  name?: string
  /** Run after each case with the store the factory made (close clients, drop keys...). */
  teardown?: (store: DeviceGrantStore) => void | Promise<void>
  /** Parallel callers in the concurrency cases. Default 100. */
  concurrency?: number
  /**
   * The cases of a capability the store lacks: registered as skipped, with the reason
   * (`'skip'`, the default), or left out (`'omit'`). Either way the summary lists them.
   */
  unsupported?: 'skip' | 'omit'
}

export type StoreFactory = () => DeviceGrantStore | Promise<DeviceGrantStore>

/** What a suite registered: the cases that run, and those that do not apply, with the reason. */
export interface SuiteSummary {
  run: string[]
  notRun: Array<{ name: string, reason: string }>
}

/**
 * Registers a suite's cases with `test`. Cases run on a fresh store from `factory` each;
 * afterwards `teardown` (if given) then `store.close()` run for every store the case opened,
 * whether it passed or not. When some case needs an optional capability, one store is opened
 * first to read the store's manifest (its optional methods and `capabilities`), then torn down
 * and closed the same way; cases whose capability the store lacks are registered as skipped
 * (or left out, with `unsupported: 'omit'`).
 */
export type SuiteFn = (test: TestFn, factory: StoreFactory, options?: StoreSuiteOptions) => Promise<SuiteSummary>

/** A suite made of `groups`, in order. */
export function suiteOf (...groups: Group[]): SuiteFn {
  return (test, factory, options = {}) => {
    const concurrency = options.concurrency ?? 100
    // One caller races nobody: the concurrency cases would pass whatever the store does.
    if (!(Number.isInteger(concurrency) && concurrency >= 2)) throw new TypeError('concurrency must be an integer >= 2')
    return register(test, factory, { ...options, concurrency }, groups.flat())
  }
}

async function register (
  test: TestFn,
  factory: StoreFactory,
  options: StoreSuiteOptions & { concurrency: number },
  cases: Case[]
): Promise<SuiteSummary> {
  const prefix = options.name === undefined || options.name === '' ? '' : `${options.name}: `
  const summary: SuiteSummary = { run: [], notRun: [] }
  // Read before registering anything, so every case is registered in one go.
  const support = cases.some((each) => each.needs !== undefined) ? await probe(factory, options) : undefined
  for (const each of cases) {
    const name = prefix + each.name
    const missing = support === undefined ? undefined : firstMissing(each.needs ?? [], support)
    if (missing === undefined) {
      test(name, () => runCase(each.run, factory, options), {})
      summary.run.push(name)
    } else {
      const reason = missingReason(missing)
      if (options.unsupported !== 'omit') test(name, () => notRun(reason), { skip: reason })
      summary.notRun.push({ name, reason })
    }
  }
  return summary
}

function firstMissing (needs: Capability[], support: StoreSupport): Capability | undefined {
  return needs.find((capability) => !support[capability])
}

async function probe (factory: StoreFactory, options: StoreSuiteOptions & { concurrency: number }): Promise<StoreSupport> {
  let support: StoreSupport | undefined
  await runCase(async (store) => { support = supportOf(store) }, factory, options)
  return support as StoreSupport
}

/** What a skipped case does if the test function dropped its options and ran it anyway. */
async function notRun (reason: string): Promise<void> {
  throw new Error(`not run: ${reason}. Pass the test function's third argument on to your runner to see it as skipped (see the README).`)
}

async function runCase (
  run: Case['run'],
  factory: StoreFactory,
  { teardown, concurrency }: StoreSuiteOptions & { concurrency: number }
): Promise<void> {
  const stores: DeviceGrantStore[] = []
  const open = async (): Promise<DeviceGrantStore> => {
    const store = await factory()
    stores.push(store)
    return store
  }
  let failed = false
  let failure: unknown
  const fail = (err: unknown): void => {
    // The case's own failure explains more than a teardown that tripped over it.
    if (!failed) {
      failed = true
      failure = err
    }
  }
  try {
    await run(await open(), { open, concurrency })
  } catch (err) {
    fail(err)
  }
  for (const store of stores.reverse()) {
    try {
      await teardown?.(store)
    } catch (err) {
      fail(err)
    } finally {
      try {
        await store.close?.()
      } catch (err) {
        fail(err)
      }
    }
  }
  if (failed) throw failure
}
