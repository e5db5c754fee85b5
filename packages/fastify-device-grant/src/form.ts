import { DEVICE_CODE_GRANT_TYPE, OAuthError } from '@device-grant/core'
import type { FastifyRequest } from 'fastify'

/** A parsed form: a repeated name becomes an array, so the repeat can be refused. */
export type FormBody = Record<string, string | string[]>

/**
 * Parses `application/x-www-form-urlencoded` (UTF-8, RFC 6749 Appendix B) keeping repeats,
 * exactly as `URLSearchParams` does (WHATWG URL, urlencoded parser). Every request parses one,
 * and `URLSearchParams` took twice the time of this: the common case is split here, each part
 * decoded with `decodeURIComponent`; anything that could decode differently (a malformed or
 * non-UTF-8 escape, which makes it throw, or a lone surrogate, which the WHATWG parser
 * replaces) goes to `URLSearchParams` instead.
 */
export function parseForm (body: string): FormBody {
  if (SURROGATE.test(body)) return parseWhatwg(body)
  const out: FormBody = Object.create(null)
  let start = 0
  while (start < body.length) {
    let end = body.indexOf('&', start)
    if (end === -1) end = body.length
    if (end > start) {
      const eq = body.indexOf('=', start)
      const split = eq !== -1 && eq < end
      const name = decodeComponent(body.slice(start, split ? eq : end))
      const value = split ? decodeComponent(body.slice(eq + 1, end)) : ''
      if (name === undefined || value === undefined) return parseWhatwg(body)
      add(out, name, value)
    }
    start = end + 1
  }
  return out
}

const SURROGATE = /[\uD800-\uDFFF]/

/**
 * The device grant's `grant_type` as form encoders write it (`:` escaped, upper- or lowercase
 * hex). Every poll sends it, and `decodeURIComponent` on it was the costliest step of parsing.
 */
const ENCODED_GRANT_TYPES = new Set([
  encodeURIComponent(DEVICE_CODE_GRANT_TYPE),
  encodeURIComponent(DEVICE_CODE_GRANT_TYPE).replaceAll('%3A', '%3a')
])

/** `+` is a space, then percent-decoding; undefined when `decodeURIComponent` refuses it. */
function decodeComponent (s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s
  if (ENCODED_GRANT_TYPES.has(s)) return DEVICE_CODE_GRANT_TYPE
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return undefined
  }
}

function parseWhatwg (body: string): FormBody {
  const out: FormBody = Object.create(null)
  for (const [name, value] of new URLSearchParams(body)) add(out, name, value)
  return out
}

function add (out: FormBody, name: string, value: string): void {
  const prev = out[name]
  if (prev === undefined) out[name] = value
  else if (Array.isArray(prev)) prev.push(value)
  else out[name] = [prev, value]
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i

/** What nearly every client sends: accepted by one string comparison, without the regexes. */
const PLAIN_FORM_TYPE = 'application/x-www-form-urlencoded'

/** Form-encoded, and UTF-8 if it names a charset at all (RFC 6749 Appendix B). */
function isUtf8Form (type: string): boolean {
  if (type === PLAIN_FORM_TYPE) return true
  if (!FORM_TYPE.test(type)) return false
  const charset = CHARSET.exec(type)?.[1]
  return charset === undefined || /^utf-?8$/i.test(charset)
}

/**
 * RFC 6749 §3.2 and RFC 8628 §3.1 take form-encoded bodies only. Checked here too (not only by
 * the body parser) because the token handler may be mounted in an app that parses JSON.
 */
export function formParams (request: FastifyRequest): FormBody {
  const type = request.headers['content-type']
  if (type === undefined || !isUtf8Form(type)) {
    throw new OAuthError('invalid_request', 'the request body must be application/x-www-form-urlencoded')
  }
  const body = request.body
  if (body === undefined || body === null) return Object.create(null)
  if (typeof body !== 'object') throw new OAuthError('invalid_request', 'the request body could not be read')
  return body as FormBody
}

/**
 * RFC 6749 §3.1/§3.2 and RFC 8628 §3.1: empty means absent, a repeat is `invalid_request`.
 * Unknown parameters are never read, so they are ignored as the RFCs require.
 */
export function param (form: FormBody, name: string): string | undefined {
  const value = form[name]
  if (value === undefined) return undefined
  if (Array.isArray(value)) throw new OAuthError('invalid_request', `the ${name} parameter was sent more than once`)
  if (typeof value !== 'string') throw new OAuthError('invalid_request', `the ${name} parameter is not a string`)
  return value === '' ? undefined : value
}
