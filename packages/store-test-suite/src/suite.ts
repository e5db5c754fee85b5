import type { DeviceGrantStore } from '@device-grant/core'
import { storeCases } from './cases.js'
import type { Case } from './cases.js'

/**
 * The runner's test function: `(name, fn) => t.test(name, fn)` for tap,
 * `(name, fn) => test(name, fn)` for `node:test`. A case fails by throwing (an `AssertionError`).
 */
export type TestFn = (name: string, fn: () => Promise<void>) => unknown

export interface StoreSuiteOptions {
  /** Prefix of every test name, e.g. 'redis'. */
  name?: string
  /** Run after each case with the store the factory made (close clients, drop keys...). */
  teardown?: (store: DeviceGrantStore) => void | Promise<void>
  /** Parallel callers in the concurrency cases. Default 100. */
  concurrency?: number
}

export type StoreFactory = () => DeviceGrantStore | Promise<DeviceGrantStore>

/**
 * Registers every conformance case with `test`. Each case runs on a fresh store from `factory`;
 * afterwards `teardown` (if given) then `store.close()` run for every store the case opened,
 * whether it passed or not.
 */
export function storeSuite (test: TestFn, factory: StoreFactory, options: StoreSuiteOptions = {}): void {
  const concurrency = options.concurrency ?? 100
  // One caller races nobody: the concurrency cases would pass whatever the store does.
  if (!(Number.isInteger(concurrency) && concurrency >= 2)) throw new TypeError('concurrency must be an integer >= 2')
  const prefix = options.name === undefined || options.name === '' ? '' : `${options.name}: `
  for (const [name, run] of storeCases(concurrency)) {
    test(prefix + name, () => runCase(run, factory, options.teardown))
  }
}

async function runCase (run: Case, factory: StoreFactory, teardown: StoreSuiteOptions['teardown']): Promise<void> {
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
    await run(await open(), open)
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
