// Shared by the fuzz-*.test.ts files: hostile-input generators, the invariants every answer
// must keep, and a snapshot of the grants a rejected request must leave alone.
import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { hashDeviceCode, type DeviceGrantRecord } from '@device-grant/core'
import type { MemoryStore } from '@device-grant/store-memory'
import type { DeviceGrantEvent } from '../src/index.js'
import { AWKWARD_SECRET, DEVICE_CODE_GRANT_TYPE } from './helpers.js'

/** A fixed seed from FUZZ_SEED reproduces a run; otherwise a fresh one, which the test logs. */
export function fuzzSeed (): number {
  const fromEnv = process.env.FUZZ_SEED
  return fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31)
}

/** Every secret the fuzzer sends carries this marker, so an echo anywhere in an answer is caught. */
export const SECRET_MARKER = 'zqsecret'

export class InvariantError extends Error {}

export function check (condition: unknown, message: string, res?: { statusCode: number, headers: Record<string, unknown>, body: string }): asserts condition {
  if (condition) return
  const detail = res === undefined ? '' : `\n  status ${res.statusCode}\n  headers ${JSON.stringify(res.headers)}\n  body ${res.body.slice(0, 500)}`
  throw new InvariantError(message + detail)
}

// --- generators -----------------------------------------------------------------------------

const byteChar = (min: number, max: number) => fc.integer({ min, max }).map(c => String.fromCharCode(c))

/** What may travel in an HTTP header value: visible ASCII, space, tab and obs-text (0x80-0xFF). */
export const headerText = (maxLength = 60) => fc.string({
  unit: fc.oneof({ weight: 8, arbitrary: byteChar(0x20, 0x7e) }, { weight: 1, arbitrary: byteChar(0x80, 0xff) }, { weight: 1, arbitrary: fc.constant('\t') }),
  maxLength
})

/** Hostile strings: NUL and control characters, lone surrogates, quotes and backslashes, emoji. */
export const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\uD800', '\uDFFF', '"\\', '\r\n', '<script>', '%', '+', '=', '&', ';', ' ', '\u202E', '💥', '__proto__', 'constructor', 'toString')
)

/** Long enough to cross limits: the 16 KiB OAuth body limit, the 8 KiB page body limit, 4 KiB Basic tokens. */
export const huge = fc.integer({ min: 4000, max: 20_000 }).chain(n => fc.constantFrom('A', 'é', '%', '\u0000', 'x=').map(c => c.repeat(Math.ceil(n / c.length))))

/** Broken encodings: bad percent escapes, invalid UTF-8 after decoding, overlong and surrogate forms. */
export const rawFragment = fc.oneof(
  fc.constantFrom('%', '%Z', '%ZZ', '%0', '%00', '%FF', '%C3%28', '%E2%82', '%ED%A0%80', '%C0%AF', '%F4%90%80%80', '+', '&', '=', '&&', '==', ';', '%26', '%3D', '%u0041', '%%41'),
  fc.string({ maxLength: 12 })
)

export interface Known {
  deviceCodes: string[]
  userCodes: string[]
}

/** A secret: the right ones sometimes, else a wrong one carrying the marker. */
export const secret = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(AWKWARD_SECRET, 'post-secret', 'basic-secret') },
  { weight: 3, arbitrary: fc.string({ maxLength: 30 }).map(s => `${SECRET_MARKER}${s}`) }
)

/** A parameter value: the good ones the app knows (so some requests succeed), empties and junk. */
export function value (known: Known): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(DEVICE_CODE_GRANT_TYPE, 'tv', 'cli', 'post-only', 'basic-only', 'web', 'other-tv', 'openid', 'read write', 'approve', 'deny', 'authorization_code') },
    { weight: 3, arbitrary: fc.constantFrom(...known.deviceCodes, ...known.userCodes) },
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: nasty },
    { weight: 1, arbitrary: huge }
  )
}

export const paramName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('grant_type', 'device_code', 'client_id', 'client_secret', 'scope', 'user_code', 'decision', 'csrf_token') },
  { weight: 1, arbitrary: fc.constantFrom('', '__proto__', 'constructor', 'hasOwnProperty', 'client_id[]', 'client_id[0]', 'GRANT_TYPE') },
  { weight: 1, arbitrary: nasty }
)

/** application/x-www-form-urlencoded, byte by byte (a lone surrogate goes out as U+FFFD, as a browser sends it). */
export function formEncode (s: string): string {
  let out = ''
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9*\-._]/.test(c) ? c : byte === 0x20 ? '+' : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** A request body: a proper form (repeats and empties included), broken encodings, raw bytes, a huge one, or none. */
export function body (known: Known): fc.Arbitrary<string | Buffer | undefined> {
  const pair = fc.oneof({ weight: 5, arbitrary: fc.tuple(paramName, value(known)) }, { weight: 1, arbitrary: fc.tuple(fc.constant('client_secret'), secret) })
  const pairs = fc.array(pair, { maxLength: 8 })
  return fc.oneof(
    { weight: 8, arbitrary: pairs.map(ps => ps.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&')) },
    // Well-formed pairs with broken bits spliced in, so the good parameters still get read.
    { weight: 4, arbitrary: fc.tuple(pairs, fc.array(rawFragment, { maxLength: 6 })).map(([ps, junk]) => [...ps.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`), ...junk].join('&')) },
    { weight: 2, arbitrary: fc.array(rawFragment, { maxLength: 20 }).map(fs => fs.join('')) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map(a => Buffer.from(a)) },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: fc.constant(undefined) }
  )
}

type Mutation = { op: 'drop', name: string } | { op: 'set' | 'add', name: string, value: string } | { op: 'junk', raw: string }

/**
 * A valid request's parameters with a few mutations: one dropped, emptied, replaced or repeated,
 * junk spliced in. Gets past the first checks far more often than random forms do.
 */
export function nearValid (known: Known, base: fc.Arbitrary<Array<[string, string]>>): fc.Arbitrary<string> {
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('drop' as const), name: paramName }),
    fc.record({ op: fc.constantFrom('set' as const, 'add' as const), name: paramName, value: value(known) }),
    // Marked secrets only where secrets go: other parameters may be echoed (a refused scope is).
    fc.record({ op: fc.constantFrom('set' as const, 'add' as const), name: fc.constant('client_secret'), value: secret }),
    fc.record({ op: fc.constant('junk' as const), raw: rawFragment })
  )
  return fc.tuple(base, fc.array(mutation, { maxLength: 3 })).map(([params, mutations]) => {
    let pairs = params.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`)
    for (const m of mutations) {
      if (m.op === 'junk') pairs.push(m.raw)
      else if (m.op === 'drop') pairs = pairs.filter(p => !p.startsWith(`${formEncode(m.name)}=`))
      else if (m.op === 'add') pairs.push(`${formEncode(m.name)}=${formEncode(m.value)}`)
      else pairs = [...pairs.filter(p => !p.startsWith(`${formEncode(m.name)}=`)), `${formEncode(m.name)}=${formEncode(m.value)}`]
    }
    return pairs.join('&')
  })
}

/** Right, wrong, odd, missing and duplicated media types. */
export const contentType = fc.oneof(
  { weight: 30, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded;charset=UTF-8',
      'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded; charset="utf-8"',
      'application/x-www-form-urlencoded; charset=latin1', 'application/x-www-form-urlencoded; charset=', 'application/x-www-form-urlencoded;;;',
      'application/x-www-form-urlencoded, application/json', 'application/x-www-form-urlencodedx', ' application/x-www-form-urlencoded',
      'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', '*/*', '', ';', 'x/y; a="b'
    )
  },
  { weight: 2, arbitrary: headerText(80) },
  { weight: 2, arbitrary: fc.constant(undefined) }
)

/** HTTP Basic done right and wrong, other schemes, and junk. */
export function authorization (known: Known): fc.Arbitrary<string | undefined> {
  const enc = formEncode
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')
  const id = value(known)
  return fc.oneof(
    { weight: 14, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.tuple(id, secret).map(([i, s]) => `Basic ${b64(`${enc(i)}:${enc(s)}`)}`) },
    { weight: 1, arbitrary: fc.tuple(id, secret).map(([i, s]) => `Basic ${b64(`${i}:${s}`)}`) },
    { weight: 1, arbitrary: id.map(i => `Basic ${b64(enc(i))}`) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map(a => `Basic ${b64(Buffer.from(a))}`) },
    { weight: 1, arbitrary: fc.array(rawFragment, { maxLength: 6 }).map(fs => `Basic ${b64(fs.join(':'))}`) },
    { weight: 1, arbitrary: fc.constantFrom('Basic', 'Basic ', 'basic  ', 'BASIC Y2xpOg==', 'Basic ====', 'Basic Y2xp', 'Basic Og==', 'Basic !!!', 'Basic Y2xp OnNlY3JldA==', 'Basic\tY2xpOng=', 'Bearer abc', 'Digest username="cli"', 'Negotiate YII=', 'cli:secret', 'Basic=', ',Basic x') },
    { weight: 1, arbitrary: fc.integer({ min: 3000, max: 12_000 }).map(n => `Basic ${'QUFB'.repeat(n)}`) },
    { weight: 1, arbitrary: headerText(100) }
  )
}

/** Mostly fresh addresses; a few fixed ones run into the per-IP limits. */
export const ip = fc.oneof({ weight: 9, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.constantFrom('10.9.9.9', '127.0.0.1') })

// --- invariants -----------------------------------------------------------------------------

const DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/
export const TOKEN_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token'])
export const AUTHORIZATION_ERRORS = new Set(['invalid_request', 'invalid_client', 'unauthorized_client', 'invalid_scope'])

/** RFC 6749 §5.1/§5.2 on an OAuth answer. Returns the `error` code, if any. */
export function checkOAuthAnswer (res: LightMyRequestResponse, allowed: Set<string>, head: boolean): string | undefined {
  check(res.statusCode < 500, 'never a 5xx', res)
  check(res.headers['cache-control'] === 'no-store', 'Cache-Control: no-store', res)
  check(res.headers.pragma === 'no-cache', 'Pragma: no-cache', res)
  check(/^application\/json/.test(String(res.headers['content-type'])), 'JSON', res)
  check(!res.body.includes(SECRET_MARKER), 'a presented secret is never echoed', res)
  if (head) return undefined
  let json: Record<string, unknown>
  try {
    json = JSON.parse(res.body)
  } catch {
    throw new InvariantError(`the body is not JSON: ${res.body.slice(0, 200)}`)
  }
  if (res.statusCode === 200) return undefined
  const { error, error_description: description, ...rest } = json
  check(typeof error === 'string' && allowed.has(error), `error "${String(error)}" is one of the allowed codes`, res)
  check(Object.keys(rest).length === 0, 'only error and error_description', res)
  check(description === undefined || (typeof description === 'string' && DESCRIPTION.test(description)), 'error_description within %x20-21 / %x23-5B / %x5D-7E', res)
  if (res.statusCode === 401) {
    check(error === 'invalid_client' && /^Basic /.test(String(res.headers['www-authenticate'])), '401 is invalid_client with a Basic challenge', res)
  } else if (res.statusCode === 405) {
    check(res.headers.allow === 'POST', '405 says Allow: POST', res)
  } else {
    check(res.statusCode === 400, `an error is 400, 401 or 405 (got ${res.statusCode})`, res)
  }
  return error as string
}

/** The security headers of every verification page. */
export function checkPage (res: LightMyRequestResponse, head: boolean): void {
  check(res.statusCode < 500, 'never a 5xx', res)
  const csp = String(res.headers['content-security-policy'])
  check(/default-src 'none'/.test(csp) && /frame-ancestors 'none'/.test(csp) && !/script-src|unsafe-inline/.test(csp), 'the page CSP', res)
  check(res.headers['x-frame-options'] === 'DENY', 'X-Frame-Options: DENY', res)
  check(res.headers['cache-control'] === 'no-store', 'Cache-Control: no-store', res)
  check(res.headers['referrer-policy'] === 'no-referrer', 'Referrer-Policy: no-referrer', res)
  check(res.headers['x-content-type-options'] === 'nosniff', 'nosniff', res)
  if (res.statusCode === 302) return // authenticate's login redirect
  check(/^text\/html; charset=utf-8$/.test(String(res.headers['content-type'])), 'HTML', res)
  if (head) return
  check(/^<!doctype html>/i.test(res.body), 'an HTML document', res)
  check(!/<script/i.test(res.body), 'no script', res)
}

// --- state ----------------------------------------------------------------------------------

export interface Snapshot { records: Array<DeviceGrantRecord | undefined> }

export async function snapshot (store: MemoryStore, deviceCodes: string[]): Promise<Snapshot> {
  return { records: await Promise.all(deviceCodes.map(async c => await store.findByDeviceCodeHash(hashDeviceCode(c)))) }
}

/**
 * What a rejected request may change: nothing, except a poll's own bookkeeping (RFC 8628 §3.5:
 * `lastPolledAt`, and `interval` on `slow_down`) when the answer is a poll answer.
 */
export function checkUnchanged (before: Snapshot, after: Snapshot, pollBookkeeping: boolean): void {
  for (const [i, a] of before.records.entries()) {
    const b = after.records[i]
    const strip = (r: DeviceGrantRecord | undefined) => {
      if (r === undefined || !pollBookkeeping) return r
      const { lastPolledAt: _l, interval: _i, ...rest } = r
      return rest
    }
    check(JSON.stringify(strip(a)) === JSON.stringify(strip(b)), `a rejected request changed grant ${i}:\n  before ${JSON.stringify(a)}\n  after  ${JSON.stringify(b)}`)
  }
}

/** Counts events, so a rejected request that created, decided or issued anything shows up. */
export function eventCounter (): { counts: Record<string, number>, onEvent: (e: DeviceGrantEvent) => void } {
  const counts: Record<string, number> = Object.create(null)
  return { counts, onEvent: e => { counts[e.type] = (counts[e.type] ?? 0) + 1 } }
}

/** A histogram of answers, printed at the end of a run. */
export class Tally {
  readonly byStatus = new Map<string, number>()
  cases = 0
  fiveXX = 0
  add (key: string, status: number): void {
    this.cases++
    if (status >= 500) this.fiveXX++
    this.byStatus.set(key, (this.byStatus.get(key) ?? 0) + 1)
  }

  toString (): string {
    return [...this.byStatus].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`).join(', ')
  }
}

/** Drives one full, ordinary device flow: the server must still work after the fuzzing. */
export async function normalFlow (app: FastifyInstance, approve: (userCode: string) => Promise<void>): Promise<string> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' }
  const auth = await app.inject({ method: 'POST', url: '/device_authorization', remoteAddress: '192.0.2.200', headers, payload: 'client_id=tv' })
  if (auth.statusCode !== 200) throw new Error(`authorization after fuzzing: ${auth.statusCode} ${auth.body}`)
  const { device_code: deviceCode, user_code: userCode } = auth.json()
  await approve(userCode)
  const token = await app.inject({ method: 'POST', url: '/token', remoteAddress: '192.0.2.200', headers, payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=tv&device_code=${deviceCode}` })
  if (token.statusCode !== 200) throw new Error(`token after fuzzing: ${token.statusCode} ${token.body}`)
  return token.json().access_token
}
