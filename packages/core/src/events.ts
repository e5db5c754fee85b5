import type { OAuthErrorCode } from './errors.js'

/** Enough for an audit log and metrics. Never carries a device code or a client secret. */
export type DeviceGrantEvent =
  | { type: 'authorization.created', clientId: string, userCode: string, scope: string, expiresAt: number }
  | { type: 'grant.approved', clientId: string, userCode: string, subject: string, scope: string }
  | { type: 'grant.denied', clientId: string, userCode: string, subject: string }
  | { type: 'token.issued', clientId: string, subject: string, scope: string }
  | { type: 'poll.rejected', clientId: string, error: OAuthErrorCode }

export type EventListener = (event: DeviceGrantEvent) => void | Promise<void>
