import type { OAuthErrorCode } from './errors.js'

/** Enough for an audit log and metrics. Never carries a device code or a client secret. */
export type DeviceGrantEvent =
  | { type: 'authorization.created', clientId: string, userCode: string, scope: string, expiresAt: number }
  | { type: 'grant.approved', clientId: string, userCode: string, subject: string, scope: string, sameNetwork?: boolean }
  | { type: 'grant.denied', clientId: string, userCode: string, subject: string, sameNetwork?: boolean }
  /**
   * Failed code entries across every address and account went over the configured budget in
   * the window that ends at `windowEndsAt` (ms): emitted once per window, by whichever instance
   * counted the failure that crossed it.
   */
  | { type: 'verification.attack_suspected', failures: number, max: number, windowSeconds: number, windowEndsAt: number }
  | { type: 'token.issued', clientId: string, subject: string, scope: string }
  | { type: 'poll.rejected', clientId: string, error: OAuthErrorCode }

export type EventListener = (event: DeviceGrantEvent) => void | Promise<void>
