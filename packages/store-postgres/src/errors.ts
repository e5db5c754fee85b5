/**
 * Which driver errors mean "the database cannot answer right now" (→ `StoreUnavailableError`)
 * and which are a unique violation (→ `save` resolves false). node-postgres reports a failure as
 * a server error with a SQLSTATE `code` (57P01 when the backend is terminated), a Node socket
 * error (`ECONNREFUSED`...), or a bare Error from pg / pg-pool (`Connection terminated
 * unexpectedly`, `timeout exceeded when trying to connect`). store-prisma adds Prisma's own
 * shapes on top of these.
 */

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
 * cannot connect now, idle session timeout), 53300 (too many connections), 57014 (a
 * statement_timeout or cancel: the server did not answer in time).
 */
export function isConnectionSqlState (code: string): boolean {
  return code.startsWith('08') || /^57P0[1-5]$/.test(code) || code === '53300' || code === '57014'
}

export function isSocketCode (code: string): boolean {
  return SOCKET_CODES.has(code)
}

/** Messages of errors that pg and pg-pool throw without a code. */
export const CONNECTION_MESSAGE = /connection terminated|timeout exceeded when trying to connect|server closed the connection unexpectedly|can't reach database server|client has encountered a connection error|connection(?: is)? closed|query read timeout|cannot use a pool after calling end/i

export type Bag = Record<string, unknown>

export function asBag (value: unknown): Bag | undefined {
  return typeof value === 'object' && value !== null ? value as Bag : undefined
}

export function str (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** The error and its `cause` chain (plus whatever `more` finds on each layer), at most 8 deep. */
export function * layers (error: unknown, more: (layer: Bag) => unknown[] = () => []): Generator<Bag> {
  const seen = new Set<unknown>()
  const queue: unknown[] = [error]
  while (queue.length > 0 && seen.size < 8) {
    const bag = asBag(queue.shift())
    if (bag === undefined || seen.has(bag)) continue
    seen.add(bag)
    yield bag
    queue.push(bag.cause, ...more(bag))
  }
}

/** One layer of an error, as node-postgres shapes it: a socket code, a SQLSTATE, or a bare message. */
export function isPgConnectionLayer (layer: Bag): boolean {
  const code = str(layer.code)
  if (code !== undefined) return isSocketCode(code) || isConnectionSqlState(code)
  const message = str(layer.message)
  return message !== undefined && CONNECTION_MESSAGE.test(message)
}

export function isConnectionError (error: unknown): boolean {
  for (const layer of layers(error)) if (isPgConnectionLayer(layer)) return true
  return false
}

export function isUniqueViolation (error: unknown): boolean {
  for (const layer of layers(error)) if (layer.code === '23505') return true
  return false
}
