import { OAuthError } from './errors.js'

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** Splits a scope string into unique tokens, in order; throws `invalid_scope` on bad syntax. */
export function parseScope (scope: string | undefined): string[] {
  if (scope === undefined) return []
  const tokens = scope.split(' ').filter(s => s !== '')
  for (const t of tokens) {
    if (!SCOPE_TOKEN.test(t)) throw new OAuthError('invalid_scope', 'scope contains a character that is not allowed')
  }
  return [...new Set(tokens)]
}

/**
 * A scope given as an array (as `scopes` and `defaultScope` are) or as the space-separated
 * string of the wire format: unique tokens, in order; throws `invalid_scope` on a bad token.
 */
export function parseScopeList (scope: string | readonly string[]): string[] {
  if (typeof scope === 'string') return parseScope(scope)
  if (!Array.isArray(scope) || scope.some(token => typeof token !== 'string' || !SCOPE_TOKEN.test(token))) {
    throw new OAuthError('invalid_scope', 'scope must be an array of scope tokens (no spaces) or a space-separated string')
  }
  return [...new Set(scope)]
}

export function formatScope (tokens: readonly string[]): string {
  return tokens.join(' ')
}

/** Same set of tokens, whatever the order. */
export function sameScope (a: string, b: string): boolean {
  const x = new Set(parseScope(a))
  const y = new Set(parseScope(b))
  return x.size === y.size && [...x].every(t => y.has(t))
}
