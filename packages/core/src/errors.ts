/**
 * The error codes this library answers with: RFC 6749 §5.2, RFC 8628 §3.5, RFC 9449 §5 and §8
 * (DPoP), and `temporarily_unavailable` (RFC 6749 §4.1.2.1) for a store that cannot be reached.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'server_error'
  | 'temporarily_unavailable'

export interface OAuthErrorBody {
  error: OAuthErrorCode
  error_description?: string
}

const defaultStatus: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 400,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 400,
  expired_token: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  server_error: 500,
  temporarily_unavailable: 503
}

/**
 * RFC 6749 §5.2 allows only %x20-21 / %x23-5B / %x5D-7E in `error_description`:
 * anything else (quotes, backslashes, control and non-ASCII characters) is replaced,
 * so a description built from user input can never break the grammar.
 */
export function sanitizeDescription (text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?').slice(0, 500)
}

export interface OAuthErrorOptions {
  /** HTTP status; defaults to the code's usual status (400 for RFC 6749 errors). */
  statusCode?: number
  /** Set when the client tried HTTP Basic: the answer must be 401 with `WWW-Authenticate: Basic`. */
  basicChallenge?: boolean
  /** Seconds, for `temporarily_unavailable`. */
  retryAfter?: number
  cause?: unknown
}

export class OAuthError extends Error {
  readonly error: OAuthErrorCode
  readonly description: string | undefined
  readonly statusCode: number
  readonly basicChallenge: boolean
  readonly retryAfter: number | undefined

  constructor (error: OAuthErrorCode, description?: string, options: OAuthErrorOptions = {}) {
    super(description === undefined ? error : `${error}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'OAuthError'
    this.error = error
    this.description = description === undefined ? undefined : sanitizeDescription(description)
    this.basicChallenge = options.basicChallenge === true
    this.statusCode = options.statusCode ?? (this.basicChallenge ? 401 : defaultStatus[error])
    this.retryAfter = options.retryAfter
  }

  toJSON (): OAuthErrorBody {
    return this.description === undefined
      ? { error: this.error }
      : { error: this.error, error_description: this.description }
  }
}

export function isOAuthError (value: unknown): value is OAuthError {
  return value instanceof OAuthError
}

/**
 * Thrown by stores when their backend cannot answer (down, timed out). The plugin turns it
 * into `503 temporarily_unavailable` with `Retry-After` rather than a 500.
 */
export class StoreUnavailableError extends Error {
  readonly retryAfter: number
  constructor (message: string, options: { cause?: unknown, retryAfter?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StoreUnavailableError'
    this.retryAfter = options.retryAfter ?? 5
  }
}
