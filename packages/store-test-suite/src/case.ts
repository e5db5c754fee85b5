import type { DeviceGrantStore } from '@device-grant/core'

/**
 * What a store may offer beyond the required methods. The first four are optional methods of
 * `DeviceGrantStore`, declared by being present; `sharedAcrossProcesses` is declared in the
 * store's `capabilities`. A case that needs one the store lacks is registered as skipped.
 */
export type Capability = 'findByDeviceCodeHash' | 'hit' | 'useOnce' | 'deleteExpired' | 'sharedAcrossProcesses'

/** Opens one more store from the factory, torn down and closed with the case's own. */
export type OpenStore = () => Promise<DeviceGrantStore>

/** What a case gets besides its store. */
export interface CaseContext {
  open: OpenStore
  /** Parallel callers in the race cases (the suite's `concurrency` option). */
  concurrency: number
}

/** One conformance case: it fails by throwing (an `AssertionError`). */
export interface Case {
  name: string
  /** What the store must offer for the case to apply. */
  needs?: Capability[]
  run: (store: DeviceGrantStore, context: CaseContext) => Promise<void>
}

/** The cases about one operation (or one rule across operations), in the order they run. */
export type Group = readonly Case[]
