import { retentionMs } from '@device-grant/core'
import type { Cluster, Redis } from 'ioredis'
import { STORE_NAME } from './errors.js'

export interface RedisStoreOptions {
  /**
   * Your ioredis client (`Redis` or `Cluster`). The store defines its scripts on it and never
   * connects, quits or listens to it: its lifecycle stays yours.
   */
  client: Redis | Cluster
  /** Prepended to every key. Must not contain `{` or `}` (they would break the hash tags). Default `'device-grant:'`. */
  keyPrefix?: string
  /**
   * Seconds a grant's keys outlive its `expiresAt`, so a late poll still hears `expired_token`
   * rather than `invalid_grant`. Redis drops them then by itself (TTL): no sweep. Default 600.
   */
  retention?: number
  /** Milliseconds after which an operation rejects with `StoreUnavailableError`. Default 2000. */
  operationTimeout?: number
  /**
   * With a single `Redis` client, the commands the store sends in one turn of the event loop
   * leave in one socket write (commands of your own sent in that turn leave with them). No
   * effect on a `Cluster`. Default `true`.
   */
  coalesceWrites?: boolean
}

/** The options, checked, with their defaults. */
export interface Settings {
  client: Redis | Cluster
  keyPrefix: string
  retentionMs: number
  operationTimeout: number
  coalesceWrites: boolean
}

export function settingsOf (options: RedisStoreOptions): Settings {
  const { client } = options ?? {}
  if (client === null || typeof client !== 'object' || typeof client.defineCommand !== 'function') {
    throw new TypeError(`${STORE_NAME}: client must be an ioredis Redis or Cluster instance`)
  }
  const { keyPrefix = 'device-grant:', operationTimeout = 2000, coalesceWrites = true } = options
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) throw new TypeError(`${STORE_NAME}: keyPrefix must be a string without { or }`)
  if (typeof operationTimeout !== 'number' || !(Number.isFinite(operationTimeout) && operationTimeout > 0)) {
    throw new TypeError(`${STORE_NAME}: operationTimeout must be a number of milliseconds > 0`)
  }
  if (typeof coalesceWrites !== 'boolean') throw new TypeError(`${STORE_NAME}: coalesceWrites must be a boolean`)
  return { client, keyPrefix, retentionMs: retentionMs(options.retention, STORE_NAME), operationTimeout, coalesceWrites }
}
