/** The `Authorization` header of a request to a resource server, split (RFC 6750 §2.1, RFC 9449 §7.1). */
export type PresentedToken =
  | { scheme: 'none' }
  | { scheme: 'bearer' | 'dpop', token: string }
  | { scheme: 'bearer' | 'dpop', token: undefined }
  | { scheme: 'other' }

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/

/** `Bearer <token>` or `DPoP <token>` (scheme case-insensitive, token68 syntax); `token` undefined when malformed. */
export function parseAuthorization (header: string | undefined): PresentedToken {
  if (header === undefined || header === '') return { scheme: 'none' }
  const match = /^(Bearer|DPoP)(?:\s+(.*?))?\s*$/is.exec(header)
  if (match === null) return { scheme: 'other' }
  const scheme = match[1]?.toLowerCase() === 'dpop' ? 'dpop' : 'bearer'
  const token = match[2]
  return { scheme, token: token !== undefined && TOKEN68.test(token) ? token : undefined }
}

export interface ChallengeOptions {
  /** `invalid_token`, `invalid_request`, `invalid_dpop_proof` or `use_dpop_nonce`; absent when no token was sent. */
  error?: string
  /** Only RFC 6749 §5.2-safe characters are kept. */
  description?: string
  /** The `algs` the resource server accepts (RFC 9449 §7.1). */
  algorithms: readonly string[]
  realm?: string
}

/** A `WWW-Authenticate: DPoP ...` challenge (RFC 9449 §7.1). */
export function dpopChallenge (options: ChallengeOptions): string {
  const params: string[] = []
  if (options.realm !== undefined) params.push(`realm="${safe(options.realm)}"`)
  if (options.error !== undefined) params.push(`error="${safe(options.error)}"`)
  if (options.description !== undefined) params.push(`error_description="${safe(options.description)}"`)
  params.push(`algs="${options.algorithms.join(' ')}"`)
  return `DPoP ${params.join(', ')}`
}

function safe (text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
}
