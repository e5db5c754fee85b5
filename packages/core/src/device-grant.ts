import { authorizeDevice, type AuthorizeInput, type DeviceAuthorizationResponse } from './authorize.js'
import { systemClock, type Clock } from './clock.js'
import { DEFAULT_EXPIRES_IN_SECONDS, DEFAULT_INTERVAL_SECONDS, DEFAULT_POLL_LEEWAY_SECONDS } from './constants.js'
import { safeEmitter, type GrantContext, type IssueToken, type TokenResponse } from './context.js'
import { decide, lookupGrant, type ApproveOptions, type DecisionOptions, type DecisionResult, type GrantView } from './decision.js'
import type { DeviceGrantEvent, EventListener } from './events.js'
import { pollDeviceCode, pollOutcome, type PollInput, type PollOutcome } from './poll.js'
import { parseScope } from './scope.js'
import type { DeviceGrantStore } from './store.js'
import { UserCodeFormat, type UserCodeOptions } from './user-code.js'

export interface DeviceGrantOptions {
  store: DeviceGrantStore
  issueToken: IssueToken
  /** Seconds a code stays valid. Default 600. */
  expiresIn?: number
  /** Seconds a device waits between polls, as advertised. Default 5. */
  interval?: number
  /** Seconds early a poll may arrive without `slow_down` (network jitter). Default 1. */
  pollLeeway?: number
  userCode?: UserCodeOptions
  /** Scope granted when neither the request nor the client names one. Default none. */
  defaultScope?: readonly string[]
  /**
   * Whether device codes may be bound to a DPoP key (`dpopJkt` given to `authorize`). Default
   * true: the poll that finds a grant approved reads its record once more, to check the key
   * before the claim. `false` saves that read (once per grant) and refuses a `dpopJkt` at
   * `authorize`; the plugin sets it from its `dpop` option.
   */
  dpopBinding?: boolean
  onEvent?: EventListener
  /** Where a listener's error goes. Default: ignored. */
  onEventError?: (err: unknown) => void
  clock?: Clock
}

export interface DeviceGrant {
  readonly userCodes: UserCodeFormat
  readonly expiresIn: number
  readonly interval: number
  readonly store: DeviceGrantStore
  readonly clock: Clock
  /** RFC 8628 §3.1–3.2, for an already authenticated client. */
  authorize(input: AuthorizeInput): Promise<DeviceAuthorizationResponse>
  /** RFC 8628 §3.4–3.5, for an already authenticated client. Throws `OAuthError`. */
  poll(input: PollInput): Promise<TokenResponse>
  /**
   * `poll` with its refusals (`authorization_pending`, `slow_down`, ...) resolved as values
   * instead of thrown: the token endpoint's hot path, with no Error built per poll. Store
   * failures and errors from `issueToken` still throw.
   */
  pollOutcome(input: PollInput): Promise<PollOutcome>
  /** Finds a grant by what a person typed (any case, dashes, spaces). */
  lookup(userCode: string): Promise<GrantView | undefined>
  /** Binds a pending grant to the first user who opens it. */
  bind(userCode: string, subject: string): Promise<DecisionResult>
  approve(userCode: string, subject: string, options?: ApproveOptions): Promise<DecisionResult>
  deny(userCode: string, subject: string, options?: DecisionOptions): Promise<DecisionResult>
  /** Sends an event to `onEvent` as the grant's own are sent (a listener's failure goes to `onEventError`). */
  emit(event: DeviceGrantEvent): void
}

function seconds (name: string, value: number | undefined, fallback: number, min: number, max: number, integer = true): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new TypeError(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (seconds), got ${String(value)}`)
  }
  return value
}

export function createDeviceGrant (options: DeviceGrantOptions): DeviceGrant {
  if (options === null || typeof options !== 'object') throw new TypeError('options are required')
  const { store } = options
  for (const m of ['save', 'findByUserCode', 'recordPoll', 'bindSubject', 'approve', 'deny', 'claim'] as const) {
    if (store === null || typeof store !== 'object' || typeof store[m] !== 'function') {
      throw new TypeError(`store must implement ${m}() (see DeviceGrantStore in @device-grant/core)`)
    }
  }
  if (typeof options.issueToken !== 'function') throw new TypeError('issueToken must be a function')
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') throw new TypeError('onEvent must be a function')
  if (options.clock !== undefined && typeof options.clock !== 'function') throw new TypeError('clock must be a function')
  const expiresIn = seconds('expiresIn', options.expiresIn, DEFAULT_EXPIRES_IN_SECONDS, 10, 86400)
  const interval = seconds('interval', options.interval, DEFAULT_INTERVAL_SECONDS, 1, 3600)
  const leeway = seconds('pollLeeway', options.pollLeeway, DEFAULT_POLL_LEEWAY_SECONDS, 0, interval, false)
  if (interval >= expiresIn) throw new TypeError('interval must be shorter than expiresIn')
  const defaultScope = parseScope((options.defaultScope ?? []).join(' '))

  const ctx: GrantContext = {
    store,
    clock: options.clock ?? systemClock,
    expiresIn,
    interval,
    pollLeewayMs: Math.round(leeway * 1000),
    userCodes: new UserCodeFormat(options.userCode),
    defaultScope,
    dpopBinding: options.dpopBinding !== false,
    issueToken: options.issueToken,
    emit: safeEmitter(options.onEvent, options.onEventError ?? (() => {}))
  }

  return {
    userCodes: ctx.userCodes,
    expiresIn,
    interval,
    store,
    clock: ctx.clock,
    authorize: input => authorizeDevice(ctx, input),
    poll: input => pollDeviceCode(ctx, input),
    pollOutcome: input => pollOutcome(ctx, input),
    lookup: userCode => lookupGrant(ctx, userCode),
    bind: (userCode, subject) => decide(ctx, userCode, subject, { kind: 'bind' }),
    approve: (userCode, subject, opts = {}) => decide(ctx, userCode, subject, { kind: 'approve', ...opts }),
    deny: (userCode, subject, opts = {}) => decide(ctx, userCode, subject, { kind: 'deny', ...opts }),
    emit: ctx.emit
  }
}
