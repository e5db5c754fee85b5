/**
 * Which errors mean "the database cannot answer right now" (→ `StoreUnavailableError`) and
 * which are a unique violation (→ `save` resolves false). Prisma 7 with a driver adapter reports
 * a failure in one of these shapes:
 * - `PrismaClientKnownRequestError` / `PrismaClientInitializationError` with a `P1xxx` code
 *   (`code` or `errorCode`), e.g. P1001 for ECONNREFUSED;
 * - `P2010` (raw query failed) with `meta.driverAdapterError.cause` = `{ kind, originalCode }`,
 *   e.g. `{ kind: 'DatabaseNotReachable' }` or `{ kind: 'postgres', code: '57P01' }`;
 * - the driver's own error passed through untouched, e.g. pg's `Connection terminated unexpectedly`
 *   or a pool's `timeout exceeded when trying to connect` (the node-postgres shapes, shared with
 *   store-postgres).
 */
import { asBag, isConnectionSqlState, isPgConnectionLayer, isSocketCode, layers as allLayers, str } from '@device-grant/store-postgres/sql'
import type { Bag } from '@device-grant/store-postgres/sql'

/** Prisma error codes for a server that cannot be reached or a connection that died or timed out. */
const PRISMA_CONNECTION_CODES = new Set([
  'P1001', // can't reach database server
  'P1002', // database server reached but timed out
  'P1008', // operations timed out
  'P1017', // server has closed the connection
  'P2024', // timed out fetching a new connection from the pool
  'P2037' // too many database connections opened
])

/** Driver adapter error kinds (`@prisma/driver-adapter-utils`) with the same meaning. */
const ADAPTER_CONNECTION_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections'
])

/** The error, its `cause` chain and the driver adapter error Prisma wraps. */
function layers (error: unknown): Generator<Bag> {
  return allLayers(error, (layer) => [asBag(layer.meta)?.driverAdapterError])
}

function isPrismaConnectionLayer (layer: Bag): boolean {
  const code = str(layer.code) ?? str(layer.errorCode)
  if (code !== undefined && (PRISMA_CONNECTION_CODES.has(code) || isSocketCode(code))) return true
  const kind = str(layer.kind)
  if (kind !== undefined && ADAPTER_CONNECTION_KINDS.has(kind)) return true
  const sqlState = str(layer.originalCode) ?? (kind === 'postgres' ? code : undefined)
  return sqlState !== undefined && isConnectionSqlState(sqlState)
}

export function isConnectionError (error: unknown): boolean {
  for (const layer of layers(error)) {
    if (isPrismaConnectionLayer(layer)) return true
    // A bare Error (no code at all) from pg or pg-pool.
    if (layer.code === undefined && layer.errorCode === undefined && isPgConnectionLayer(layer)) return true
  }
  return false
}

/** A unique-constraint violation: P2002 from a model query, 23505 under P2010 from a raw one. */
export function isUniqueViolation (error: unknown): boolean {
  for (const layer of layers(error)) {
    if (layer.code === 'P2002' || layer.kind === 'UniqueConstraintViolation' || layer.originalCode === '23505') return true
  }
  return false
}
