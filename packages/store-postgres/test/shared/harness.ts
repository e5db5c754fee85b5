import type { Test } from 'tap'
import type { DeviceGrantStore } from '@device-grant/core'
import type { TestSchema } from './fixtures.js'

/** Both PostgreSQL stores implement every optional operation. */
export type PgStore = DeviceGrantStore & Required<Pick<DeviceGrantStore, 'findByDeviceCodeHash' | 'hit' | 'useOnce' | 'deleteExpired'>>

/**
 * What the shared PostgreSQL store tests need from a store package: its stores on one test
 * schema. Connections are broken from the outside (pg_terminate_backend on the schema's
 * `applicationName`), so every store connection must carry that application_name.
 */
export interface PgStoreHarness {
  /** The package name every error message of the store starts with. */
  packageName: string
  /** What one separate connection pool is called in test names ("pools", "clients"). */
  pools: string
  db: TestSchema
  /** The store under test, on the schema's main pool. */
  store: PgStore
  /** Another store on the main pool, with these options. */
  storeWith: (options: { batch?: boolean, operationTimeout?: number }) => PgStore
  /** A store on a pool of its own (up to 4 connections), as a second process would have. */
  otherProcess: () => PgStore
  /** A store on a server nobody listens on (127.0.0.1:1), and how to close its pool. */
  unreachable: () => { store: PgStore, close: () => Promise<void> }
  /** What the `cause` of a refused connection matches (a tap `match` pattern): drivers differ. */
  refusedCause: unknown
}

/** tap's root test or a subtest: what the shared tests register themselves on. */
export type Tap = Test
