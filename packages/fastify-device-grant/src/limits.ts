import type { Clock, DeviceClient } from '@device-grant/core'
import {
  DEFAULT_CLIENT_AUTH_RATE_LIMIT,
  DEFAULT_RATE_LIMIT,
  spend,
  type ClientAuthRateLimitOptions,
  type Counter,
  type RateLimitOptions,
  type RateLimitRule,
  type Spent
} from './rate-limit.js'

/**
 * The verification pages' limits on code entry, each an explicit step counted through the
 * counter (the store's `hit()` when it has one, so the limits hold across instances).
 */
export class EntryLimits {
  readonly #counter: Counter
  readonly #clock: Clock
  readonly #rules: Required<RateLimitOptions>

  constructor (counter: Counter, clock: Clock, options: RateLimitOptions) {
    this.#counter = counter
    this.#clock = clock
    this.#rules = { ...DEFAULT_RATE_LIMIT, ...options }
  }

  /** Seconds to wait when `ip` has used up its failed entries, else undefined. */
  async addressBlocked (ip: string): Promise<number | undefined> {
    const spent = await this.#spend(`ip:${ip}`, this.#rules.perIp, 0)
    return spent.blocked ? spent.retryAfter : undefined
  }

  /** One failed entry from `ip`: a success gives nothing back. */
  async failedEntry (ip: string): Promise<void> {
    await this.#spend(`ip:${ip}`, this.#rules.perIp, 1)
  }

  /** One lookup of a (normalized) code value, from anyone; seconds to wait when over its cap. */
  async codeLookup (userCode: string): Promise<number | undefined> {
    const spent = await this.#spend(`code:${userCode}`, this.#rules.perCode, 1)
    return spent.blocked ? spent.retryAfter : undefined
  }

  async #spend (key: string, rule: RateLimitRule, increment: number): Promise<Spent> {
    return await spend(this.#counter, key, rule, increment, this.#clock())
  }
}

/** The counters one client authentication attempt is charged to. */
export interface ClientAttempt {
  ipKey: string
  /** Only registered confidential clients have a count of their own. */
  clientKey?: string
}

/**
 * Failed client authentications (RFC 6749 §2.3.1) per confidential client and per IP. Once
 * either is used up the secret is not even compared: right or wrong, the answer is the same.
 */
export class ClientAuthLimits {
  readonly #counter: Counter
  readonly #clock: Clock
  readonly #rules: Required<ClientAuthRateLimitOptions>

  constructor (counter: Counter, clock: Clock, options: ClientAuthRateLimitOptions) {
    this.#counter = counter
    this.#clock = clock
    this.#rules = { ...DEFAULT_CLIENT_AUTH_RATE_LIMIT, ...options }
  }

  /**
   * The counters for an attempt on `clientId` from `ip`. Unknown ids have no secret to guess
   * (the IP count covers them) and never create counters of their own.
   */
  attempt (ip: string, clientId: string, client: DeviceClient | undefined): ClientAttempt {
    const ipKey = `client-auth:ip:${ip}`
    return client?.clientSecret === undefined ? { ipKey } : { ipKey, clientKey: `client-auth:client:${clientId}` }
  }

  /** Seconds to wait when any of the attempt's counts is used up, else undefined. */
  async blocked (attempt: ClientAttempt): Promise<number | undefined> {
    const over = (await this.#charge(attempt, 0)).filter(s => s.blocked)
    return over.length === 0 ? undefined : Math.max(...over.map(s => s.retryAfter))
  }

  /** Counts a failure; when it used up a budget, the seconds until the next window. */
  async failed (attempt: ClientAttempt): Promise<number | undefined> {
    const exhausted = (await this.#charge(attempt, 1)).filter(s => s.left <= 0)
    return exhausted.length === 0 ? undefined : Math.max(...exhausted.map(s => s.retryAfter))
  }

  async #charge (attempt: ClientAttempt, increment: number): Promise<Spent[]> {
    const now = this.#clock()
    return await Promise.all([
      spend(this.#counter, attempt.ipKey, this.#rules.perIp, increment, now),
      ...(attempt.clientKey === undefined ? [] : [spend(this.#counter, attempt.clientKey, this.#rules.perClient, increment, now)])
    ])
  }
}
