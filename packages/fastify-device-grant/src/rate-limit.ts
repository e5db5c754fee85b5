import type { CounterHit, DeviceGrantStore } from '@device-grant/core'
import { MemoryStore } from '@device-grant/store-memory'

export interface RateLimitRule {
  /** Attempts allowed per window. */
  max: number
  /** Window length in seconds. */
  window: number
}

export interface RateLimitOptions {
  /** Failed code entries (unknown or malformed codes) per client IP. Default 10 per 10 minutes. */
  perIp?: RateLimitRule
  /** Lookups of one code, from anyone. Default 10 per 10 minutes. */
  perCode?: RateLimitRule
}

export const DEFAULT_RATE_LIMIT: Required<RateLimitOptions> = {
  perIp: { max: 10, window: 600 },
  perCode: { max: 10, window: 600 }
}

/**
 * RFC 6749 §2.3.1: an endpoint that checks client passwords "MUST protect [itself] against
 * brute force attacks". Failed client authentications are counted per client and per IP.
 */
export interface ClientAuthRateLimitOptions {
  /** Failed authentications of one confidential client, from anywhere. Default 10 per 10 minutes. */
  perClient?: RateLimitRule
  /** Failed client authentications from one IP, whatever the client. Default 50 per 10 minutes. */
  perIp?: RateLimitRule
}

export const DEFAULT_CLIENT_AUTH_RATE_LIMIT: Required<ClientAuthRateLimitOptions> = {
  perClient: { max: 10, window: 600 },
  perIp: { max: 50, window: 600 }
}

export function validateClientAuthRateLimit (value: ClientAuthRateLimitOptions | false | undefined): void {
  if (value === undefined || value === false) return
  if (value === null || typeof value !== 'object') throw new TypeError('fastify-device-grant: clientAuthRateLimit must be an object or false')
  validateRule('perClient', value.perClient, 'clientAuthRateLimit')
  validateRule('perIp', value.perIp, 'clientAuthRateLimit')
}

export function validateRule (name: string, rule: RateLimitRule | undefined, where = 'pages.rateLimit'): void {
  if (rule === undefined) return
  if (rule === null || typeof rule !== 'object' || !Number.isInteger(rule.max) || rule.max < 1 ||
    !Number.isFinite(rule.window) || rule.window <= 0) {
    throw new TypeError(`fastify-device-grant: ${where}.${name} needs an integer max >= 1 and a window in seconds > 0`)
  }
}

/** A fixed-window counter: the store contract's optional `hit`. */
export type Counter = (key: string, window: { windowMs: number, now: number, increment: number }) => Promise<CounterHit>

/**
 * The store's own counter when it has one (the limits then hold across every instance sharing
 * the store), else one in this process. `close` releases the in-process fallback.
 */
export function counterFor (store: DeviceGrantStore): { counter: Counter, close: () => Promise<void> } {
  if (typeof store.hit === 'function') return { counter: store.hit.bind(store), close: async () => {} }
  const local = new MemoryStore()
  return { counter: local.hit.bind(local), close: async () => { await local.close() } }
}

export interface Spent {
  /** Over the limit: refuse the attempt. */
  blocked: boolean
  /** Attempts left in this window after this one (0 or less: the next one is refused). */
  left: number
  /** Seconds until the window ends, for `Retry-After`. */
  retryAfter: number
}

/**
 * Adds `increment` to `key`'s count for `rule`'s current window. An attempt that pushes the
 * count past `max` is blocked; a read (`increment` 0) is blocked once the count reaches `max`.
 */
export async function spend (counter: Counter, key: string, rule: RateLimitRule, increment: number, now: number): Promise<Spent> {
  const hit = await counter(key, { windowMs: rule.window * 1000, now, increment })
  return {
    blocked: hit.count > rule.max || (increment === 0 && hit.count >= rule.max),
    left: rule.max - hit.count,
    retryAfter: Math.max(1, Math.ceil((hit.resetAt - now) / 1000))
  }
}
