import { StoreUnavailableError, checkCounterWindow, checkOnceUse, retentionMs, windowEnd } from '@device-grant/core'
import type {
  Approval,
  Clock,
  CounterHit,
  CounterWindow,
  Decision,
  DeviceGrantRecord,
  DeviceGrantStore,
  OnceUse,
  PollInput,
  PollResult,
  StoreCapabilities
} from '@device-grant/core'
import { withDeadline } from './deadline.js'
import { isConnectionError, isUniqueViolation } from './errors.js'
import type { PgQueryable, PgQueryConfig, PgQueryResult } from './pool.js'
import { saveValues, toPollResult, toRecord } from './rows.js'
import type { GrantRow, PollRow } from './rows.js'
import { DEFAULT_TABLE, buildStatements } from './sql.js'
import type { Statement, Statements } from './sql.js'

const NAME = '@device-grant/store-postgres'

export interface PostgresStoreOptions {
  /**
   * Your node-postgres pool (`new pg.Pool(...)`, or `fastify.pg` from @fastify/postgres). The
   * store never connects or ends it.
   */
  pool: PgQueryable
  /**
   * The grant table: `'name'` or `'schema.name'`. Default `'device_grant'`, found through the
   * connection's `search_path`. The counter and once tables are `<name>_counter` and
   * `<name>_once` in the same schema (the shipped migrations create all three).
   */
  table?: string
  /**
   * Seconds a record is kept after it expires, so a late poll still hears `expired_token`
   * rather than `invalid_grant`: `sweep()` deletes only records expired longer ago. Default 600.
   */
  retention?: number
  /** Clock used only by `sweep()` without an argument. Default `Date.now`. */
  clock?: Clock
  /**
   * Milliseconds an operation may take before it fails with `StoreUnavailableError` (the
   * plugin answers 503): a database that stops answering never hangs a request. Default 5000.
   */
  operationTimeout?: number
  /**
   * Send every statement as a named (prepared) statement: parsed and planned once per
   * connection. Default true. Turn it off behind a pooler that cannot keep them (PgBouncer in
   * transaction mode before 1.21).
   */
  prepared?: boolean
  /**
   * A poll's bookkeeping commits without waiting for the WAL flush (`synchronous_commit = off`
   * for that statement only). Default true. What a crash can lose is at most the last fraction
   * of a second of `lastPolledAt`/`interval` updates; decisions, claims, saves, counters and
   * once-keys always commit durably, and a later durable commit flushes every poll before it.
   */
  asyncPollCommit?: boolean
}

/**
 * A `DeviceGrantStore` on node-postgres. Every operation is one SQL statement (one round trip),
 * the transitions conditional writes that report whether they won, shared across every process
 * on the same database.
 */
export class PostgresStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true }
  readonly #pool: PgQueryable
  readonly #sql: Statements
  readonly #retentionMs: number
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #prepared: boolean

  constructor (options: PostgresStoreOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${NAME}: options must be an object`)
    const { pool } = options
    if (typeof pool?.query !== 'function') throw new TypeError(`${NAME}: pool must be a node-postgres Pool (or anything with its query(config) method)`)
    const operationTimeout = options.operationTimeout ?? 5000
    if (!(Number.isFinite(operationTimeout) && operationTimeout > 0)) throw new TypeError(`${NAME}: operationTimeout must be a number of milliseconds > 0`)
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError(`${NAME}: clock must be a function`)
    this.#retentionMs = retentionMs(options.retention, NAME)
    try {
      this.#sql = buildStatements(options.table ?? DEFAULT_TABLE, { asyncPollCommit: options.asyncPollCommit ?? true })
    } catch (err) {
      throw new TypeError(`${NAME}: ${(err as Error).message}`)
    }
    this.#pool = pool
    this.#clock = options.clock ?? Date.now
    this.#timeoutMs = operationTimeout
    this.#prepared = options.prepared ?? true
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    try {
      return (await this.#run('save', this.#sql.save, saveValues(grant))).rowCount === 1
    } catch (err) {
      // The device-code hash is already stored (the user-code conflict is handled in SQL).
      if (isUniqueViolation(err)) return false
      throw err
    }
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    return await this.#find('findByDeviceCodeHash', deviceCodeHash)
  }

  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    return await this.#find('findByUserCode', userCode)
  }

  async recordPoll (deviceCodeHash: string, poll: PollInput): Promise<PollResult | undefined> {
    const { rows } = await this.#run('recordPoll', this.#sql.recordPoll, [deviceCodeHash, poll.clientId, poll.now, poll.leewayMs, poll.slowDownStep])
    return toPollResult(rows[0] as PollRow | undefined)
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return (await this.#run('bindSubject', this.#sql.bindSubject, [deviceCodeHash, decision.subject, decision.now])).rowCount === 1
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const values = [deviceCodeHash, approval.subject, approval.now, approval.grantedScope ?? null]
    return (await this.#run('approve', this.#sql.approve, values)).rowCount === 1
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return (await this.#run('deny', this.#sql.deny, [deviceCodeHash, decision.subject, decision.now])).rowCount === 1
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const { rows } = await this.#run('claim', this.#sql.claim, [deviceCodeHash, now])
    const row = rows[0] as GrantRow | undefined
    // The row comes back after the write; the only column the claim changed is `status`.
    return row === undefined ? undefined : { ...toRecord(row), status: 'approved' }
  }

  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = windowEnd(window)
    const { rows } = await this.#run('hit', this.#sql.hit, [key, window.windowMs, resetAt, window.increment])
    return { count: Number((rows[0] as { count: string }).count), resetAt }
  }

  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    return (await this.#run('useOnce', this.#sql.useOnce, [key, use.now, use.expiresAt])).rowCount === 1
  }

  /**
   * Deletes every record with `expiresAt <= now`, whatever the retention, and the counter
   * windows and once-keys over by `now`. Resolves the number of records deleted.
   */
  async deleteExpired (now: number): Promise<number> {
    return await this.#sweep('deleteExpired', now, now)
  }

  /**
   * For a cron (or a timer in one of your instances): deletes records that expired more than
   * `retention` seconds before `now` (default: the store's clock), and the counter windows and
   * once-keys over by `now`. One statement. Resolves the number of records deleted.
   */
  async sweep (now: number = this.#clock()): Promise<number> {
    return await this.#sweep('sweep', now - this.#retentionMs, now)
  }

  async #sweep (op: string, grantsBefore: number, now: number): Promise<number> {
    if (!Number.isFinite(now)) throw new TypeError(`${NAME}: ${op}: now must be a finite number`)
    const { rows } = await this.#run(op, this.#sql.sweep, [grantsBefore, now])
    return (rows[0] as { grants: number }).grants
  }

  async #find (op: 'findByDeviceCodeHash' | 'findByUserCode', value: string): Promise<DeviceGrantRecord | undefined> {
    const { rows } = await this.#run(op, this.#sql[op], [value])
    const row = rows[0] as GrantRow | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  async #run (op: string, statement: Statement, values: unknown[]): Promise<PgQueryResult> {
    const config: PgQueryConfig = this.#prepared ? { name: statement.name, text: statement.text, values } : { text: statement.text, values }
    try {
      return await withDeadline(this.#pool.query(config), this.#timeoutMs, () =>
        new StoreUnavailableError(`${NAME}: ${op} got no answer within ${this.#timeoutMs} ms`))
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      if (isConnectionError(err)) throw new StoreUnavailableError(`${NAME}: ${op} failed, the database is unavailable`, { cause: err })
      throw err
    }
  }
}

export function postgresStore (options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options)
}
