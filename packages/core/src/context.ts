import type { Clock } from './clock.js'
import type { DeviceClient } from './client.js'
import type { DeviceGrantEvent, EventListener } from './events.js'
import { isPromise } from './is-promise.js'
import type { DeviceGrantRecord, DeviceGrantStore } from './store.js'
import type { UserCodeFormat } from './user-code.js'

/** RFC 6749 §5.1 success body. Extra members are passed through to the client. */
export interface TokenResponse {
  access_token: string
  token_type: string
  expires_in?: number
  refresh_token?: string
  scope?: string
  [member: string]: unknown
}

export interface IssueTokenInput {
  client: DeviceClient
  /** The user who approved. */
  subject: string
  /** The scope granted, space-separated. */
  scope: string
  grant: DeviceGrantRecord
  /**
   * RFC 9449: the JWK SHA-256 thumbprint of the DPoP key the token request proved. When present,
   * bind the token to it (`cnf: { jkt }` in a JWT, or in your token record) and answer
   * `token_type: 'DPoP'`; a token returned as `Bearer` tells the client it is not bound.
   */
  dpopJkt?: string
}

/** Mints the token. Called once per grant, only by the poll that won the claim. */
export type IssueToken = (input: IssueTokenInput) => TokenResponse | Promise<TokenResponse>

/** Settings shared by the grant operations; built once by `createDeviceGrant`. */
export interface GrantContext {
  store: DeviceGrantStore
  clock: Clock
  expiresIn: number
  interval: number
  pollLeewayMs: number
  userCodes: UserCodeFormat
  defaultScope: readonly string[]
  /** Device codes may be bound to a DPoP key: the approved poll checks the key. */
  dpopBinding: boolean
  issueToken: IssueToken
  emit: (event: DeviceGrantEvent) => void
}

/** Listeners are for audit and metrics: one that throws must not break a grant. */
export function safeEmitter (listener: EventListener | undefined, onError: (err: unknown) => void): (event: DeviceGrantEvent) => void {
  if (listener === undefined) return () => {}
  return event => {
    try {
      const r = listener(event)
      if (isPromise(r)) r.then(undefined, onError)
    } catch (err) {
      onError(err)
    }
  }
}
