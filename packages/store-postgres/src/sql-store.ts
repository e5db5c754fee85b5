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
import { Batcher } from './batcher.js'
import { withDeadline } from './deadline.js'
import { saveValues, toPollResult, toRecord } from './rows.js'
import type { GrantRow, PollRow } from './rows.js'
import { DEFAULT_TABLE, buildStatements } from './sql.js'
import type { Statement, Statements } from './sql.js'

/** The options every store on the shared statements takes. */
export interface SqlStoreOptions {
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
   * A poll's bookkeeping commits without waiting for the WAL flush (`synchronous_commit = off`
   * for that statement only). Default true. What a crash can lose is at most the last fraction
   * of a second of `lastPolledAt`/`interval` updates; decisions, claims, saves, counters and
   * once-keys always commit durably, and a later durable commit flushes every poll before it.
   */
  asyncPollCommit?: boolean
  /**
   * Polls and saves made in the same event-loop turn go to the database as one statement
   * (while such a statement is in flight, later calls wait for it and go in the next). Default
   * true. Under load this is most of the store's speed: a round trip, a transaction and a commit
   * per batch instead of per call. A call made alone is sent alone, as before; every call keeps
   * its own result, error and deadline, and a batch that fails for any reason but a lost
   * connection is retried call by call. A statement still unanswered after 100 ms stops
   * holding up the calls behind it.
   */
  batch?: boolean
}

/** How a driver reports its failures: which mean "unavailable", which a duplicate key. */
export interface DriverErrors {
  isConnectionError: (error: unknown) => boolean
  isUniqueViolation: (error: unknown) => boolean
}

/**
 * The `DeviceGrantStore` both PostgreSQL stores are: every operation one of the shared
 * statements, sent by the driver of the subclass (`query` for rows, `execute` for a count).
 * Deadlines, error classification and the conversions are here, once.
 */
export abstract class SqlGrantStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true }
  protected readonly sql: Statements
  readonly #name: string
  readonly #errors: DriverErrors
  readonly #retentionMs: number
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #polls: Send<PollCall, PollResult | undefined>
  readonly #saves: Send<DeviceGrantRecord, boolean>

  /** `name` prefixes every error message: the package name. Throws a TypeError on bad options. */
  constructor (name: string, options: SqlStoreOptions, errors: DriverErrors) {
    const operationTimeout = options.operationTimeout ?? 5000
    if (!(Number.isFinite(operationTimeout) && operationTimeout > 0)) throw new TypeError(`${name}: operationTimeout must be a number of milliseconds > 0`)
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError(`${name}: clock must be a function`)
    if (options.batch !== undefined && typeof options.batch !== 'boolean') throw new TypeError(`${name}: batch must be true or false`)
    this.#retentionMs = retentionMs(options.retention, name)
    try {
      this.sql = buildStatements(options.table ?? DEFAULT_TABLE, { asyncPollCommit: options.asyncPollCommit ?? true })
    } catch (err) {
      throw new TypeError(`${name}: ${(err as Error).message}`)
    }
    this.#name = name
    this.#errors = errors
    this.#clock = options.clock ?? Date.now
    this.#timeoutMs = operationTimeout
    if (options.batch === false) {
      this.#polls = (call) => this.#pollOne(call)
      this.#saves = (grant) => this.#saveOne(grant)
    } else {
      const common = { retryAlone: (err: unknown) => !errors.isConnectionError(err), timeoutMs: operationTimeout }
      const polls = new Batcher<PollCall, PollResult | undefined>({
        one: (call) => this.#pollOne(call),
        many: (calls) => this.#pollMany(calls),
        key: (call) => call[0],
        ...common
      })
      // One statement cannot write a user code twice; a repeated device code fails the batch on
      // the unique index, and each grant then goes alone.
      const saves = new Batcher<DeviceGrantRecord, boolean>({
        one: (grant) => this.#saveOne(grant),
        many: (grants) => this.#saveMany(grants),
        key: (grant) => grant.userCode,
        ...common
      })
      this.#polls = (call) => polls.add(call)
      this.#saves = (grant) => saves.add(grant)
    }
  }

  /** Sends `statement` and resolves its rows (keyed by the statement's column aliases). */
  protected abstract query (statement: Statement, values: unknown[]): PromiseLike<unknown[]>
  /** Sends `statement` and resolves how many rows it affected. */
  protected abstract execute (statement: Statement, values: unknown[]): PromiseLike<number>

  async #pollOne (call: PollCall): Promise<PollResult | undefined> {
    return toPollResult((await this.query(this.sql.recordPoll, call))[0] as PollRow | undefined)
  }

  async #pollMany (calls: PollCall[]): Promise<Array<PollResult | undefined>> {
    const rows = await this.query(this.sql.recordPolls, columns(calls)) as PollRow[]
    const byHash = new Map(rows.map((row) => [row.deviceCodeHash, row]))
    return calls.map((call) => toPollResult(byHash.get(call[0])))
  }

  async #saveOne (grant: DeviceGrantRecord): Promise<boolean> {
    try {
      return await this.execute(this.sql.save, saveValues(grant)) === 1
    } catch (err) {
      // The device-code hash is already stored (the user-code conflict is handled in SQL).
      if (this.#errors.isUniqueViolation(err)) return false
      throw err
    }
  }

  async #saveMany (grants: DeviceGrantRecord[]): Promise<boolean[]> {
    const rows = await this.query(this.sql.saves, columns(grants.map(saveValues))) as Array<{ deviceCodeHash: string }>
    const saved = new Set(rows.map((row) => row.deviceCodeHash))
    return grants.map((grant) => saved.has(grant.deviceCodeHash))
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    return await this.run('save', () => this.#saves(grant))
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    return await this.#find('findByDeviceCodeHash', deviceCodeHash)
  }

  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    return await this.#find('findByUserCode', userCode)
  }

  async recordPoll (deviceCodeHash: string, poll: PollInput): Promise<PollResult | undefined> {
    const call: PollCall = [deviceCodeHash, poll.clientId, poll.now, poll.leewayMs, poll.slowDownStep]
    return await this.run('recordPoll', () => this.#polls(call))
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#count('bindSubject', [deviceCodeHash, decision.subject, decision.now]) === 1
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    return await this.#count('approve', [deviceCodeHash, approval.subject, approval.now, approval.grantedScope ?? null]) === 1
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#count('deny', [deviceCodeHash, decision.subject, decision.now]) === 1
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const row = (await this.#rows('claim', [deviceCodeHash, now]))[0] as GrantRow | undefined
    // The row comes back after the write; the only column the claim changed is `status`.
    return row === undefined ? undefined : { ...toRecord(row), status: 'approved' }
  }

  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = windowEnd(window)
    const rows = await this.#rows('hit', [key, window.windowMs, resetAt, window.increment])
    return { count: Number((rows[0] as { count: string | bigint }).count), resetAt }
  }

  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    return (await this.#rows('useOnce', [key, use.now, use.expiresAt])).length === 1
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
    if (!Number.isFinite(now)) throw new TypeError(`${this.#name}: ${op}: now must be a finite number`)
    const rows = await this.run(op, () => this.query(this.sql.sweep, [grantsBefore, now]))
    return Number((rows[0] as { grants: number }).grants)
  }

  async #find (op: 'findByDeviceCodeHash' | 'findByUserCode', value: string): Promise<DeviceGrantRecord | undefined> {
    const row = (await this.#rows(op, [value]))[0] as GrantRow | undefined
    return row === undefined ? undefined : toRecord(row)
  }

  async #rows (op: keyof Statements, values: unknown[]): Promise<unknown[]> {
    return await this.run(op, () => this.query(this.sql[op], values))
  }

  async #count (op: keyof Statements, values: unknown[]): Promise<number> {
    return await this.run(op, () => this.execute(this.sql[op], values))
  }

  /** `send()` within the deadline; a connection failure becomes `StoreUnavailableError`. */
  protected async run<T> (op: string, send: () => PromiseLike<T>): Promise<T> {
    try {
      return await withDeadline(send(), this.#timeoutMs, () =>
        new StoreUnavailableError(`${this.#name}: ${op} got no answer within ${this.#timeoutMs} ms`))
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      if (this.#errors.isConnectionError(err)) throw new StoreUnavailableError(`${this.#name}: ${op} failed, the database is unavailable`, { cause: err })
      throw err
    }
  }
}

type Send<C, R> = (call: C) => Promise<R>

/** A poll's `recordPoll` parameters. */
type PollCall = [deviceCodeHash: string, clientId: string, now: number, leewayMs: number, slowDownStep: number]

/** Rows of parameters (all one length) → one array per parameter (the batched statements' `unnest`). */
function columns (rows: ReadonlyArray<readonly unknown[]>): unknown[][] {
  const out: unknown[][] = Array.from({ length: rows[0]?.length ?? 0 }, () => [])
  for (const row of rows) row.forEach((value, i) => { out[i]?.push(value) })
  return out
}
