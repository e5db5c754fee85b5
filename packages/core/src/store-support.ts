import type { CounterWindow, DeviceGrantRecord, OnceUse } from './store.js'

/**
 * Facts and argument checks every store shares, so each store states them once, the same way.
 * For store authors; the plugin and core never need them.
 */

/**
 * The fields `recordPoll` reports, in one place for the `PolledGrant` type, every store and
 * the suite.
 */
export const POLLED_FIELDS = ['clientId', 'status', 'expiresAt', 'interval', 'lastPolledAt'] as const satisfies ReadonlyArray<keyof DeviceGrantRecord>

/** Default seconds a store keeps a record after it expires (late polls hear `expired_token`). */
export const DEFAULT_RETENTION_SECONDS = 600

/**
 * The `retention` option in milliseconds: seconds >= 0, default 600. Throws a `TypeError`
 * prefixed with the store's name (`@device-grant/store-redis: retention must …`).
 */
export function retentionMs (retention: number | undefined, storeName: string): number {
  const seconds = retention ?? DEFAULT_RETENTION_SECONDS
  if (typeof seconds !== 'number' || !(Number.isFinite(seconds) && seconds >= 0)) {
    throw new TypeError(`${storeName}: retention must be a number of seconds >= 0`)
  }
  return seconds * 1000
}

/** `hit()`'s arguments, checked the same way in every store: a `TypeError` names the bad one. */
export function checkCounterWindow (key: string, window: CounterWindow): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('hit: key must be a non-empty string')
  if (window === null || typeof window !== 'object') throw new TypeError('hit: window must be an object')
  if (!(Number.isInteger(window.windowMs) && window.windowMs > 0)) throw new TypeError('hit: windowMs must be a positive integer')
  if (!Number.isFinite(window.now)) throw new TypeError('hit: now must be a finite number')
  if (!Number.isInteger(window.increment)) throw new TypeError('hit: increment must be an integer')
}

/** When the window holding `now` ends. */
export function windowEnd (window: CounterWindow): number {
  return (Math.floor(window.now / window.windowMs) + 1) * window.windowMs
}

/** `useOnce()`'s arguments, checked the same way in every store. */
export function checkOnceUse (key: string, use: OnceUse): void {
  if (typeof key !== 'string' || key === '') throw new TypeError('useOnce: key must be a non-empty string')
  if (use === null || typeof use !== 'object') throw new TypeError('useOnce: use must be an object')
  if (!Number.isFinite(use.now)) throw new TypeError('useOnce: now must be a finite number')
  if (!(Number.isFinite(use.expiresAt) && use.expiresAt > use.now)) throw new TypeError('useOnce: expiresAt must be a finite time after now')
}
