import type { DeviceGrantStore } from '@device-grant/core'
import type { Capability } from './case.js'

/** The capability manifest of one store: which of the optional capabilities it offers. */
export type StoreSupport = Record<Capability, boolean>

const OPTIONAL_METHODS = ['findByDeviceCodeHash', 'hit', 'useOnce', 'deleteExpired'] as const

/** Reads a store's manifest: its optional methods, and what its `capabilities` declare. */
export function supportOf (store: DeviceGrantStore): StoreSupport {
  const support = { sharedAcrossProcesses: store.capabilities?.sharedAcrossProcesses === true } as StoreSupport
  for (const method of OPTIONAL_METHODS) support[method] = typeof store[method] === 'function'
  return support
}

/** Why a case that needs `capability` does not apply to a store without it. */
export function missingReason (capability: Capability): string {
  return capability === 'sharedAcrossProcesses'
    ? 'the store does not declare capabilities.sharedAcrossProcesses'
    : `the store has no ${capability}()`
}

type OptionalMethod = typeof OPTIONAL_METHODS[number]

/**
 * The store's optional `method`, bound to it, for a case registered only when the store has
 * it (`needs`); a TypeError if it does not.
 */
export function optional<M extends OptionalMethod> (store: DeviceGrantStore, method: M): NonNullable<DeviceGrantStore[M]> {
  const fn = store[method]
  if (typeof fn !== 'function') throw new TypeError(`the store has no ${method}()`)
  return fn.bind(store) as NonNullable<DeviceGrantStore[M]>
}
