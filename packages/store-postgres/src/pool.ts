/**
 * The part of node-postgres the store uses, typed structurally: a `pg.Pool` fits (so does a
 * `pg.Client`, or `fastify.pg` from @fastify/postgres), and this package imports nothing from
 * `pg` at run time.
 */

/** A query as node-postgres takes it; with a `name`, a prepared statement. */
export interface PgQueryConfig {
  name?: string
  text: string
  values?: unknown[]
}

export interface PgQueryResult {
  rows: unknown[]
  rowCount: number | null
}

/** `pg.Pool`, `pg.Client`, `fastify.pg`: anything with node-postgres's `query(config)`. */
export interface PgQueryable {
  query: (config: PgQueryConfig) => PromiseLike<PgQueryResult>
}
