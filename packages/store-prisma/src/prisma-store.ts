import { StoreUnavailableError } from '@device-grant/core'
import type {
  Approval,
  Decision,
  DeviceGrantRecord,
  DeviceGrantStore,
  GrantStatus,
  PollInput,
  PolledGrant,
  PollResult,
  StoreCapabilities
} from '@device-grant/core'
import { isConnectionError, isUniqueViolation } from './errors.js'
import { DEFAULT_TABLE, SAVE_FIELDS, buildStatements } from './sql.js'
import type { Statements } from './sql.js'

/**
 * A `DeviceGrant` row as the Prisma client returns it: `BigInt` fields come back as `bigint`.
 * Raw statements return the same keys (their columns are aliased to the field names).
 */
export interface DeviceGrantRow {
  deviceCodeHash: string
  userCode: string
  clientId: string
  scope: string
  status: string
  createdAt: bigint | number
  expiresAt: bigint | number
  interval: number
  lastPolledAt: bigint | number | null
  subject: string | null
  grantedScope: string | null
  decidedAt: bigint | number | null
  ip: string | null
  userAgent: string | null
}

/** The filter `bindSubject`, `approve` and `deny` pass to `updateMany`. */
export interface DecidableWhere {
  deviceCodeHash: string
  status: 'pending'
  expiresAt: { gt: number }
  OR: [{ subject: null }, { subject: string }]
}

/** What `bindSubject`, `approve` and `deny` write. */
export interface DecisionData {
  status?: 'approved' | 'denied'
  subject: string
  decidedAt?: number
  grantedScope?: string
}

/**
 * The model delegate the store calls (`prisma.deviceGrant` for the shipped fragment): only
 * these methods, so any Prisma 7 client with the model fits, extended clients included.
 */
export interface DeviceGrantDelegate {
  findUnique (args: { where: { deviceCodeHash: string } | { userCode: string } }): PromiseLike<DeviceGrantRow | null>
  updateMany (args: { where: DecidableWhere, data: DecisionData }): PromiseLike<{ count: number }>
  deleteMany (args: { where: { expiresAt: { lte: number } } }): PromiseLike<{ count: number }>
}

/**
 * The raw-query methods the store calls. Their SQL text is built once, from constants and the
 * validated `table` name; every value is a bound parameter.
 */
export interface PrismaRawClient {
  $queryRawUnsafe<T = unknown> (query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe (query: string, ...values: unknown[]): PromiseLike<number>
}

/** A Prisma client (or a transaction client) whose schema has the model under the name `M`. */
export type PrismaClientLike<M extends string = 'deviceGrant'> = PrismaRawClient & { readonly [K in M]: DeviceGrantDelegate }

export interface PrismaStoreOptions<M extends string = 'deviceGrant'> {
  /**
   * Your Prisma 7 client, created with a driver adapter (`@prisma/adapter-pg`). The store
   * never connects or disconnects it.
   */
  prisma: PrismaClientLike<NoInfer<M>>
  /** Name of the model delegate on the client. Default `'deviceGrant'`. */
  model?: M
  /**
   * The table the model maps to, as the raw statements name it: `'name'` or `'schema.name'`.
   * Default `'device_grant'`, found through the connection's `search_path` (usually `public`).
   * Qualify it when the model lives in another schema (e.g. `PrismaPg(config, { schema })`).
   */
  table?: string
  /**
   * Seconds a record is kept after it expires, so a late poll still hears `expired_token`
   * rather than `invalid_grant`: `sweep()` deletes only records expired longer ago. Default 600.
   */
  retention?: number
  /** Clock used only by `sweep()`. Default `Date.now`. */
  clock?: () => number
}

type PollRow = Pick<DeviceGrantRow, 'clientId' | 'status' | 'expiresAt' | 'interval' | 'lastPolledAt'> & { slowDown: boolean }

/**
 * A `DeviceGrantStore` on a Prisma 7 client (PostgreSQL). Every operation is one SQL statement:
 * reads and decisions through the model delegate (decisions as guarded `updateMany`), `save`,
 * `recordPoll` and `claim` as single raw statements that check and write atomically.
 */
export class PrismaStore<M extends string = 'deviceGrant'> implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true }
  readonly #prisma: PrismaRawClient
  readonly #delegate: DeviceGrantDelegate
  readonly #sql: Statements
  readonly #retentionMs: number
  readonly #clock: () => number

  constructor (options: PrismaStoreOptions<M>) {
    const { prisma } = options
    const model = options.model ?? 'deviceGrant'
    const retention = options.retention ?? 600
    if (typeof model !== 'string' || model === '') throw new TypeError('model must be the name of a model delegate')
    if (!(Number.isFinite(retention) && retention >= 0)) throw new TypeError('retention must be a number of seconds >= 0')
    if (typeof prisma?.$queryRawUnsafe !== 'function' || typeof prisma.$executeRawUnsafe !== 'function') {
      throw new TypeError('prisma must be a Prisma client')
    }
    const delegate = (prisma as unknown as Record<string, Partial<DeviceGrantDelegate> | undefined>)[model]
    if (typeof delegate?.findUnique !== 'function' || typeof delegate.updateMany !== 'function' || typeof delegate.deleteMany !== 'function') {
      throw new TypeError(`prisma.${model} is not a model delegate: add the DeviceGrant model to your schema and run prisma generate, or pass its name as \`model\``)
    }
    this.#prisma = prisma
    this.#delegate = delegate as DeviceGrantDelegate
    this.#sql = buildStatements(options.table ?? DEFAULT_TABLE)
    this.#retentionMs = retention * 1000
    this.#clock = options.clock ?? Date.now
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    const values = SAVE_FIELDS.map(([field]) => grant[field] ?? null)
    try {
      return await this.#run('save', () => this.#prisma.$executeRawUnsafe(this.#sql.save, ...values)) === 1
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
    const rows = await this.#run('recordPoll', () => this.#prisma.$queryRawUnsafe<PollRow[]>(
      this.#sql.recordPoll, deviceCodeHash, poll.clientId, poll.now, poll.leewayMs, poll.slowDownStep))
    const row = rows[0]
    if (row === undefined) return undefined
    const grant: PolledGrant = { clientId: row.clientId, status: row.status as GrantStatus, expiresAt: toNumber(row.expiresAt), interval: row.interval }
    if (row.lastPolledAt !== null) grant.lastPolledAt = toNumber(row.lastPolledAt)
    return { grant, slowDown: row.slowDown === true }
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#decide('bindSubject', deviceCodeHash, decision, { subject: decision.subject })
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const data: DecisionData = { status: 'approved', subject: approval.subject, decidedAt: approval.now }
    if (approval.grantedScope !== undefined) data.grantedScope = approval.grantedScope
    return await this.#decide('approve', deviceCodeHash, approval, data)
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#decide('deny', deviceCodeHash, decision, { status: 'denied', subject: decision.subject, decidedAt: decision.now })
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const rows = await this.#run('claim', () => this.#prisma.$queryRawUnsafe<DeviceGrantRow[]>(this.#sql.claim, deviceCodeHash, now))
    const row = rows[0]
    // The row comes back after the write; the only column the claim changed is `status`.
    return row === undefined ? undefined : { ...toRecord(row), status: 'approved' }
  }

  /** Deletes every record with `expiresAt <= now`, whatever the retention; resolves the count. */
  async deleteExpired (now: number): Promise<number> {
    const { count } = await this.#run('deleteExpired', () => this.#delegate.deleteMany({ where: { expiresAt: { lte: now } } }))
    return count
  }

  /**
   * For a cron: deletes records that expired more than `retention` seconds before `now`
   * (default: the store's clock). Resolves the count.
   */
  async sweep (now: number = this.#clock()): Promise<number> {
    return await this.deleteExpired(now - this.#retentionMs)
  }

  /** `pending → …` (or a bind) only while live and unbound or bound to the same subject. */
  async #decide (op: string, deviceCodeHash: string, decision: Decision, data: DecisionData): Promise<boolean> {
    const where: DecidableWhere = {
      deviceCodeHash,
      status: 'pending',
      expiresAt: { gt: decision.now },
      OR: [{ subject: null }, { subject: decision.subject }]
    }
    const { count } = await this.#run(op, () => this.#delegate.updateMany({ where, data }))
    return count === 1
  }

  async #run<T> (op: string, query: () => PromiseLike<T>): Promise<T> {
    try {
      return await query()
    } catch (err) {
      if (isConnectionError(err)) {
        throw new StoreUnavailableError(`prisma store: ${op} failed, the database is unavailable`, { cause: err })
      }
      throw err
    }
  }
}

function toNumber (value: bigint | number): number {
  return typeof value === 'bigint' ? Number(value) : value
}

/** A fresh `DeviceGrantRecord`; null columns become absent properties. */
function toRecord (row: DeviceGrantRow): DeviceGrantRecord {
  const record: DeviceGrantRecord = {
    deviceCodeHash: row.deviceCodeHash,
    userCode: row.userCode,
    clientId: row.clientId,
    scope: row.scope,
    status: row.status as GrantStatus,
    createdAt: toNumber(row.createdAt),
    expiresAt: toNumber(row.expiresAt),
    interval: row.interval
  }
  if (row.lastPolledAt !== null) record.lastPolledAt = toNumber(row.lastPolledAt)
  if (row.subject !== null) record.subject = row.subject
  if (row.grantedScope !== null) record.grantedScope = row.grantedScope
  if (row.decidedAt !== null) record.decidedAt = toNumber(row.decidedAt)
  if (row.ip !== null) record.ip = row.ip
  if (row.userAgent !== null) record.userAgent = row.userAgent
  return record
}

export function prismaStore<M extends string = 'deviceGrant'> (options: PrismaStoreOptions<M>): PrismaStore<M> {
  return new PrismaStore(options)
}
