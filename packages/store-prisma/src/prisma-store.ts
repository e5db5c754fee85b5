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
import { DEFAULT_TABLE, buildStatements, saveValues, toPollResult, toRecord, withDeadline } from '@device-grant/store-postgres/sql'
import type { GrantRow, PollRow, Statements } from '@device-grant/store-postgres/sql'
import { isConnectionError, isUniqueViolation } from './errors.js'

const NAME = '@device-grant/store-prisma'

/**
 * The raw-query methods the store calls: every operation is one of the SQL statements
 * `@device-grant/store-postgres` defines (the same texts that store sends), built once from
 * constants and the validated `table` name; every value is a bound parameter.
 */
export interface PrismaRawClient {
  $queryRawUnsafe<T = unknown> (query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe (query: string, ...values: unknown[]): PromiseLike<number>
}

/** A `DeviceGrant` row as the Prisma client returns it: `BigInt` fields come back as `bigint`. */
export type DeviceGrantRow = GrantRow

/**
 * The model delegate the store reads through (`prisma.deviceGrant` for the shipped fragment):
 * a typed `findUnique` costs Prisma less than the same SELECT sent raw (bench/RESULTS.md).
 */
export interface DeviceGrantDelegate {
  findUnique (args: { where: { deviceCodeHash: string } | { userCode: string } }): PromiseLike<DeviceGrantRow | null>
}

/** A Prisma client (or a transaction client) whose schema has the model under the name `M`. */
export type PrismaClientLike<M extends string = 'deviceGrant'> = PrismaRawClient & { readonly [K in M]: DeviceGrantDelegate }

export interface PrismaStoreOptions<M extends string = 'deviceGrant'> {
  /**
   * Your Prisma 7 client, created with a driver adapter (`@prisma/adapter-pg`). The store
   * never connects or disconnects it.
   */
  prisma: PrismaClientLike<NoInfer<M>>
  /** Name of the grant model's delegate on the client. Default `'deviceGrant'`. */
  model?: M
  /**
   * The grant table, as the statements name it: `'name'` or `'schema.name'`. Default
   * `'device_grant'`, found through the connection's `search_path` (usually `public`). Qualify it
   * when the models live in another schema (e.g. `PrismaPg(config, { schema })`). The counter
   * and once tables are `<name>_counter` and `<name>_once` in the same schema.
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
   * plugin answers 503). Default 5000.
   */
  operationTimeout?: number
  /**
   * A poll's bookkeeping commits without waiting for the WAL flush (`synchronous_commit = off`
   * for that statement only). Default true. Decisions, claims, saves, counters and once-keys
   * always commit durably.
   */
  asyncPollCommit?: boolean
}

/**
 * A `DeviceGrantStore` on a Prisma 7 client (PostgreSQL). Every operation is one SQL statement:
 * lookups through the model's typed `findUnique`, everything else through
 * `$queryRawUnsafe`/`$executeRawUnsafe` with the statements of `@device-grant/store-postgres`,
 * so both stores write alike to the byte.
 */
export class PrismaStore<M extends string = 'deviceGrant'> implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true }
  readonly #prisma: PrismaRawClient
  readonly #delegate: DeviceGrantDelegate
  readonly #sql: Statements
  readonly #retentionMs: number
  readonly #clock: Clock
  readonly #timeoutMs: number

  constructor (options: PrismaStoreOptions<M>) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${NAME}: options must be an object`)
    const { prisma } = options
    if (typeof prisma?.$queryRawUnsafe !== 'function' || typeof prisma.$executeRawUnsafe !== 'function') {
      throw new TypeError(`${NAME}: prisma must be a Prisma client`)
    }
    const model = options.model ?? 'deviceGrant'
    if (typeof model !== 'string' || model === '') throw new TypeError(`${NAME}: model must be the name of a model delegate`)
    const delegate = (prisma as unknown as Record<string, Partial<DeviceGrantDelegate> | undefined>)[model]
    if (typeof delegate?.findUnique !== 'function') {
      throw new TypeError(`${NAME}: prisma.${model} is not a model delegate: add the DeviceGrant model to your schema and run prisma generate, or pass its name as \`model\``)
    }
    this.#delegate = delegate as DeviceGrantDelegate
    const operationTimeout = options.operationTimeout ?? 5000
    if (!(Number.isFinite(operationTimeout) && operationTimeout > 0)) throw new TypeError(`${NAME}: operationTimeout must be a number of milliseconds > 0`)
    if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError(`${NAME}: clock must be a function`)
    this.#retentionMs = retentionMs(options.retention, NAME)
    try {
      this.#sql = buildStatements(options.table ?? DEFAULT_TABLE, { asyncPollCommit: options.asyncPollCommit ?? true })
    } catch (err) {
      throw new TypeError(`${NAME}: ${(err as Error).message}`)
    }
    this.#prisma = prisma
    this.#clock = options.clock ?? Date.now
    this.#timeoutMs = operationTimeout
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    try {
      return await this.#execute('save', this.#sql.save.text, saveValues(grant)) === 1
    } catch (err) {
      // The device-code hash is already stored (the user-code conflict is handled in SQL).
      if (isUniqueViolation(err)) return false
      throw err
    }
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.#run('findByDeviceCodeHash', () => this.#delegate.findUnique({ where: { deviceCodeHash } }))
    return row === null ? undefined : toRecord(row)
  }

  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.#run('findByUserCode', () => this.#delegate.findUnique({ where: { userCode } }))
    return row === null ? undefined : toRecord(row)
  }

  async recordPoll (deviceCodeHash: string, poll: PollInput): Promise<PollResult | undefined> {
    const rows = await this.#query<PollRow>('recordPoll', this.#sql.recordPoll.text, [deviceCodeHash, poll.clientId, poll.now, poll.leewayMs, poll.slowDownStep])
    return toPollResult(rows[0])
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#execute('bindSubject', this.#sql.bindSubject.text, [deviceCodeHash, decision.subject, decision.now]) === 1
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const values = [deviceCodeHash, approval.subject, approval.now, approval.grantedScope ?? null]
    return await this.#execute('approve', this.#sql.approve.text, values) === 1
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#execute('deny', this.#sql.deny.text, [deviceCodeHash, decision.subject, decision.now]) === 1
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const rows = await this.#query<GrantRow>('claim', this.#sql.claim.text, [deviceCodeHash, now])
    // The row comes back after the write; the only column the claim changed is `status`.
    return rows[0] === undefined ? undefined : { ...toRecord(rows[0]), status: 'approved' }
  }

  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = windowEnd(window)
    const rows = await this.#query<{ count: bigint }>('hit', this.#sql.hit.text, [key, window.windowMs, resetAt, window.increment])
    return { count: Number(rows[0]?.count), resetAt }
  }

  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    return (await this.#query('useOnce', this.#sql.useOnce.text, [key, use.now, use.expiresAt])).length === 1
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
    const rows = await this.#query<{ grants: number }>(op, this.#sql.sweep.text, [grantsBefore, now])
    return Number(rows[0]?.grants)
  }

  async #query<T> (op: string, text: string, values: unknown[]): Promise<T[]> {
    return await this.#run(op, () => this.#prisma.$queryRawUnsafe<T[]>(text, ...values))
  }

  async #execute (op: string, text: string, values: unknown[]): Promise<number> {
    return await this.#run(op, () => this.#prisma.$executeRawUnsafe(text, ...values))
  }

  async #run<T> (op: string, query: () => PromiseLike<T>): Promise<T> {
    try {
      return await withDeadline(query(), this.#timeoutMs, () =>
        new StoreUnavailableError(`${NAME}: ${op} got no answer within ${this.#timeoutMs} ms`))
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err
      if (isConnectionError(err)) throw new StoreUnavailableError(`${NAME}: ${op} failed, the database is unavailable`, { cause: err })
      throw err
    }
  }
}

export function prismaStore<M extends string = 'deviceGrant'> (options: PrismaStoreOptions<M>): PrismaStore<M> {
  return new PrismaStore(options)
}
