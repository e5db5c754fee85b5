/**
 * Which errors mean "the database cannot answer right now" (→ `StoreUnavailableError`) and
 * which are a unique violation (→ `save` resolves false). Prisma 7 with a driver adapter reports
 * a failure in one of these shapes:
 * - `PrismaClientKnownRequestError` / `PrismaClientInitializationError` with a `P1xxx` code
 *   (`code` or `errorCode`), e.g. P1001 for ECONNREFUSED on a model query;
 * - `P2010` (raw query failed) with `meta.driverAdapterError.cause` = `{ kind, originalCode }`,
 *   e.g. `{ kind: 'DatabaseNotReachable' }` or `{ kind: 'postgres', code: '57P01' }`;
 * - the driver's own error passed through untouched, e.g. pg's `Connection terminated unexpectedly`
 *   or a pool's `timeout exceeded when trying to connect`.
 */

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

/** Node socket errors. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN'
])

/**
 * PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01–57P05 (admin/crash shutdown,
 * cannot connect now, idle session timeout), 53300 (too many connections).
 */
function isConnectionSqlState (code: string): boolean {
  return code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300'
}

/** Messages of errors that pg and pg-pool throw without a code. */
const CONNECTION_MESSAGE = /connection terminated|timeout exceeded when trying to connect|server closed the connection unexpectedly|can't reach database server|client has encountered a connection error|connection(?: is)? closed/i

type Bag = Record<string, unknown>

function asBag (value: unknown): Bag | undefined {
  return typeof value === 'object' && value !== null ? value as Bag : undefined
}

function str (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** The error itself, its `cause` chain and the driver adapter error Prisma wraps, at most 8 deep. */
function * layers (error: unknown): Generator<Bag> {
  const seen = new Set<unknown>()
  const queue: unknown[] = [error]
  while (queue.length > 0 && seen.size < 8) {
    const item = queue.shift()
    const bag = asBag(item)
    if (bag === undefined || seen.has(bag)) continue
    seen.add(bag)
    yield bag
    queue.push(bag.cause, asBag(bag.meta)?.driverAdapterError)
  }
}

export function isConnectionError (error: unknown): boolean {
  for (const layer of layers(error)) {
    const code = str(layer.code) ?? str(layer.errorCode)
    if (code !== undefined && (PRISMA_CONNECTION_CODES.has(code) || SOCKET_CODES.has(code))) return true
    const kind = str(layer.kind)
    if (kind !== undefined && ADAPTER_CONNECTION_KINDS.has(kind)) return true
    const sqlState = str(layer.originalCode) ?? (kind === 'postgres' ? code : undefined)
    if (sqlState !== undefined && isConnectionSqlState(sqlState)) return true
    // A bare Error (no Prisma code) from pg or pg-pool.
    const message = str(layer.message)
    if (code === undefined && message !== undefined && CONNECTION_MESSAGE.test(message)) return true
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
