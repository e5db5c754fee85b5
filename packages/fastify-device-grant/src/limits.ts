import type { Clock, DeviceClient, DeviceGrantEvent } from '@device-grant/core'
import { addressGroup } from './address.js'
import {
  DEFAULT_CLIENT_AUTH_RATE_LIMIT,
  DEFAULT_RATE_LIMIT,
  hit,
  TIGHTENING,
  type ClientAuthRateLimitOptions,
  type Count,
  type Counter,
  type RateLimitOptions,
  type RateLimitRule
} from './rate-limit.js'

/** One counted attempt: what it was charged to, so that it can be refunded. */
export interface Attempt {
  charged: Array<{ key: string, rule: RateLimitRule }>
  counts: Count[]
}

/** A charged attempt, or the seconds to wait when it was over a limit (and refunded). */
export type Admission = { attempt: Attempt, retryAfter?: undefined } | { retryAfter: number }

export interface LimitsContext {
  counter: Counter
  clock: Clock
  ipv6Prefix: number
  /** A refund the store refused: logged, and the attempt stays counted (the safe side). */
  onRefundError: (err: unknown) => void
}

/**
 * Counting first closes the burst gap: every attempt is charged before it is compared, so a
 * burst of simultaneous guesses cannot all get through before any is counted. An attempt over
 * a limit is refunded and refused; a success is refunded; a failure stays counted.
 */
class AttemptCounter {
  readonly #ctx: LimitsContext
  constructor (ctx: LimitsContext) { this.#ctx = ctx }

  async charge (charged: Attempt['charged']): Promise<Attempt> {
    const now = this.#ctx.clock()
    const counts = await Promise.all(charged.map(c => hit(this.#ctx.counter, c.key, c.rule, 1, now)))
    return { charged, counts }
  }

  /**
   * Charges an attempt; when `refusal` finds it over a limit (seconds to wait), refunds it and
   * answers the wait instead.
   */
  async admit (charged: Attempt['charged'], refusal: (attempt: Attempt) => number | undefined): Promise<Admission> {
    const attempt = await this.charge(charged)
    const retryAfter = refusal(attempt)
    if (retryAfter === undefined) return { attempt }
    await this.refund(attempt)
    return { retryAfter }
  }

  async read (charged: Attempt['charged']): Promise<Count[]> {
    const now = this.#ctx.clock()
    return await Promise.all(charged.map(c => hit(this.#ctx.counter, c.key, c.rule, 0, now)))
  }

  async refund (attempt: Attempt): Promise<void> {
    const now = this.#ctx.clock()
    try {
      await Promise.all(attempt.charged.map(c => this.#ctx.counter(c.key, { windowMs: c.rule.window * 1000, now, increment: -1 })))
    } catch (err) {
      this.#ctx.onRefundError(err)
    }
  }
}

/** Seconds to wait for the longest of the counts over their `max`, else undefined. */
function waitFor (counts: Count[], over: (count: Count, i: number) => boolean): number | undefined {
  const waits = counts.filter(over).map(c => c.retryAfter)
  return waits.length === 0 ? undefined : Math.max(...waits)
}

/**
 * The verification pages' limits on code entry, each an explicit step counted through the
 * counter (the store's `hit()` when it has one, so the limits hold across instances): failed
 * entries per address (IPv6 by prefix), per signed-in account, and from everyone (the global
 * budget, which alerts and tightens the others); lookups per code value.
 */
export class EntryLimits {
  readonly #ctx: LimitsContext
  readonly #attempts: AttemptCounter
  readonly #rules: Required<RateLimitOptions>
  readonly #emit: (event: DeviceGrantEvent) => void

  constructor (ctx: LimitsContext, options: RateLimitOptions, emit: (event: DeviceGrantEvent) => void) {
    this.#ctx = ctx
    this.#attempts = new AttemptCounter(ctx)
    this.#rules = { ...DEFAULT_RATE_LIMIT, ...options }
    this.#emit = emit
  }

  #global (): { key: string, rule: RateLimitRule } | undefined {
    return this.#rules.global === false ? undefined : { key: 'entry:global', rule: this.#rules.global }
  }

  /** What an attempt from `ip` (by `subject`, once known) is charged to, global budget last. */
  #charges (ip: string, subject?: string): Attempt['charged'] {
    const charges = [{ key: `ip:${addressGroup(ip, this.#ctx.ipv6Prefix)}`, rule: this.#rules.perIp }]
    if (subject !== undefined) charges.push({ key: `account:${subject}`, rule: this.#rules.perAccount })
    const global = this.#global()
    if (global !== undefined) charges.push(global)
    return charges
  }

  /** Each limit's `max` now: a fifth of it while the global budget is spent. */
  #maxes (attempt: Pick<Attempt, 'charged' | 'counts'>): number[] {
    const global = this.#global()
    const globalCount = global === undefined ? undefined : attempt.counts[attempt.counts.length - 1]
    const tight = global !== undefined && globalCount !== undefined && globalCount.count > global.rule.max
    return attempt.charged.map(c => (c.key === global?.key || !tight ? c.rule.max : Math.max(1, Math.floor(c.rule.max / TIGHTENING))))
  }

  /** Before anything else: seconds to wait when `ip` has used up its failed entries. */
  async addressBlocked (ip: string): Promise<number | undefined> {
    const charged = this.#charges(ip)
    const counts = await this.#attempts.read(charged)
    const maxes = this.#maxes({ charged, counts })
    // The global budget itself refuses no one: it only tightens the others.
    return waitFor(counts.slice(0, 1), (c, i) => c.count >= (maxes[i] as number))
  }

  /** Counts an entry up front; refused (and refunded) with the seconds to wait when over a limit. */
  async attempt (ip: string, subject: string): Promise<Admission> {
    const global = this.#global()
    return await this.#attempts.admit(this.#charges(ip, subject), attempt => {
      const maxes = this.#maxes(attempt)
      return waitFor(attempt.counts, (c, i) => c.key !== global?.key && c.count > (maxes[i] as number))
    })
  }

  /** Not a failed entry after all (the code was found, or merely expired or used): refunded. */
  async succeeded (attempt: Attempt): Promise<void> {
    await this.#attempts.refund(attempt)
  }

  /** A failed entry stays counted; the one that crosses the global budget raises the alert. */
  async failed (attempt: Attempt): Promise<void> {
    const global = this.#global()
    const count = attempt.counts[attempt.counts.length - 1]
    if (global === undefined || count === undefined || count.count <= global.rule.max) return
    // One alert per window across every instance: only the first hit of this key sees 1.
    const alert = await hit(this.#ctx.counter, 'entry:global:alerted', global.rule, 1, this.#ctx.clock())
    if (alert.count !== 1) return
    this.#emit({ type: 'verification.attack_suspected', failures: count.count, max: global.rule.max, windowSeconds: global.rule.window, windowEndsAt: count.windowEndsAt })
  }

  /** One lookup of a (normalized) code value, from anyone; seconds to wait when over its cap. */
  async codeLookup (userCode: string): Promise<number | undefined> {
    const count = await hit(this.#ctx.counter, `code:${userCode}`, this.#rules.perCode, 1, this.#ctx.clock())
    return count.count > this.#rules.perCode.max ? count.retryAfter : undefined
  }
}

/**
 * Failed client authentications (RFC 6749 §2.3.1) per confidential client and per address.
 * Counted first, like code entries: once either is used up the secret is not even compared,
 * right or wrong, and the answer is the same.
 */
export class ClientAuthLimits {
  readonly #ctx: LimitsContext
  readonly #attempts: AttemptCounter
  readonly #rules: Required<ClientAuthRateLimitOptions>

  constructor (ctx: LimitsContext, options: ClientAuthRateLimitOptions) {
    this.#ctx = ctx
    this.#attempts = new AttemptCounter(ctx)
    this.#rules = { ...DEFAULT_CLIENT_AUTH_RATE_LIMIT, ...options }
  }

  /**
   * Charges an attempt on `clientId` from `ip`. Unknown ids have no secret to guess (the
   * address count covers them) and never create counters of their own.
   */
  async attempt (ip: string, clientId: string, client: DeviceClient | undefined): Promise<Admission> {
    const charged = [{ key: `client-auth:ip:${addressGroup(ip, this.#ctx.ipv6Prefix)}`, rule: this.#rules.perIp }]
    if (client?.clientSecret !== undefined) charged.push({ key: `client-auth:client:${clientId}`, rule: this.#rules.perClient })
    return await this.#attempts.admit(charged, attempt =>
      waitFor(attempt.counts, (c, i) => c.count > (charged[i] as { rule: RateLimitRule }).rule.max))
  }

  async succeeded (attempt: Attempt): Promise<void> {
    await this.#attempts.refund(attempt)
  }

  /** A failure stays counted; when it used up a budget, the seconds until the next window. */
  failed (attempt: Attempt): number | undefined {
    return waitFor(attempt.counts, (c, i) => c.count >= (attempt.charged[i] as { rule: RateLimitRule }).rule.max)
  }
}
