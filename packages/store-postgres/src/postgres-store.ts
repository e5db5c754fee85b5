import { isConnectionError, isUniqueViolation } from './errors.js'
import type { PgQueryable, PgQueryConfig } from './pool.js'
import type { Statement } from './sql.js'
import { SqlGrantStore } from './sql-store.js'
import type { SqlStoreOptions } from './sql-store.js'

const NAME = '@device-grant/store-postgres'

export interface PostgresStoreOptions extends SqlStoreOptions {
  /**
   * Your node-postgres pool (`new pg.Pool(...)`, or `fastify.pg.pool` from @fastify/postgres).
   * The store never connects or ends it.
   */
  pool: PgQueryable
  /**
   * Send every statement as a named (prepared) statement: parsed and planned once per
   * connection. Default true. Turn it off behind a pooler that cannot keep them (PgBouncer in
   * transaction mode before 1.21).
   */
  prepared?: boolean
}

/**
 * A `DeviceGrantStore` on node-postgres. Every operation is one SQL statement (one round trip),
 * the transitions conditional writes that report whether they won, shared across every process
 * on the same database.
 */
export class PostgresStore extends SqlGrantStore {
  readonly #pool: PgQueryable
  readonly #prepared: boolean

  constructor (options: PostgresStoreOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${NAME}: options must be an object`)
    if (typeof options.pool?.query !== 'function') throw new TypeError(`${NAME}: pool must be a node-postgres Pool (or anything with its query(config) method)`)
    super(NAME, options, { isConnectionError, isUniqueViolation })
    this.#pool = options.pool
    this.#prepared = options.prepared ?? true
  }

  protected async query (statement: Statement, values: unknown[]): Promise<unknown[]> {
    return (await this.#pool.query(this.#config(statement, values))).rows
  }

  protected async execute (statement: Statement, values: unknown[]): Promise<number> {
    return (await this.#pool.query(this.#config(statement, values))).rowCount ?? 0
  }

  #config (statement: Statement, values: unknown[]): PgQueryConfig {
    return this.#prepared ? { name: statement.name, text: statement.text, values } : { text: statement.text, values }
  }
}

export function postgresStore (options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options)
}
