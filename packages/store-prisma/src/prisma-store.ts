import type { DeviceGrantRecord } from '@device-grant/core'
import { SqlGrantStore, toRecord } from '@device-grant/store-postgres/sql'
import type { GrantRow, SqlStoreOptions, Statement } from '@device-grant/store-postgres/sql'
import { isConnectionError, isUniqueViolation } from './errors.js'

const NAME = '@device-grant/store-prisma'

/**
 * The raw-query methods the store calls: every operation but the lookups is one of the SQL
 * statements `@device-grant/store-postgres` defines (the same texts that store sends), built once
 * from constants and the validated `table` name; every value is a bound parameter.
 */
export interface PrismaRawClient {
  $queryRawUnsafe<T = unknown> (query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe (query: string, ...values: unknown[]): PromiseLike<number>
}

/** A `DeviceGrant` row as the Prisma client returns it: `BigInt` fields come back as `bigint`. */
export type DeviceGrantRow = GrantRow

/**
 * The model delegate the store reads through (`prisma.deviceGrant` for the shipped fragment):
 * a typed `findUnique` costs Prisma less than the same SELECT sent raw (bench/RESULTS-postgresql.md).
 */
export interface DeviceGrantDelegate {
  findUnique (args: { where: { deviceCodeHash: string } | { userCode: string } }): PromiseLike<DeviceGrantRow | null>
}

/** A Prisma client (or a transaction client) whose schema has the grant model under the name `M`. */
export type PrismaClientLike<M extends string = 'deviceGrant'> = PrismaRawClient & { readonly [K in M]: DeviceGrantDelegate }

export interface PrismaStoreOptions<M extends string = 'deviceGrant'> extends SqlStoreOptions {
  /**
   * Your Prisma 7 client, created with a driver adapter (`@prisma/adapter-pg`). The store
   * never connects or disconnects it.
   */
  prisma: PrismaClientLike<NoInfer<M>>
  /** Name of the grant model's delegate on the client. Default `'deviceGrant'`. */
  model?: M
}

/**
 * A `DeviceGrantStore` on a Prisma 7 client (PostgreSQL). Every operation is one SQL statement:
 * lookups through the model's typed `findUnique`, everything else through
 * `$queryRawUnsafe`/`$executeRawUnsafe` with the statements of `@device-grant/store-postgres`,
 * so both stores write alike to the byte.
 */
export class PrismaStore<M extends string = 'deviceGrant'> extends SqlGrantStore {
  readonly #prisma: PrismaRawClient
  readonly #delegate: DeviceGrantDelegate

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
    super(NAME, options, { isConnectionError, isUniqueViolation })
    this.#prisma = prisma
    this.#delegate = delegate as DeviceGrantDelegate
  }

  override async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.run('findByDeviceCodeHash', () => this.#delegate.findUnique({ where: { deviceCodeHash } }))
    return row === null ? undefined : toRecord(row)
  }

  override async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const row = await this.run('findByUserCode', () => this.#delegate.findUnique({ where: { userCode } }))
    return row === null ? undefined : toRecord(row)
  }

  protected query (statement: Statement, values: unknown[]): PromiseLike<unknown[]> {
    return this.#prisma.$queryRawUnsafe<unknown[]>(statement.text, ...values)
  }

  protected execute (statement: Statement, values: unknown[]): PromiseLike<number> {
    return this.#prisma.$executeRawUnsafe(statement.text, ...values)
  }
}

export function prismaStore<M extends string = 'deviceGrant'> (options: PrismaStoreOptions<M>): PrismaStore<M> {
  return new PrismaStore(options)
}
