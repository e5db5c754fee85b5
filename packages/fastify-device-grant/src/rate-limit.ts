import type { CounterHit, DeviceGrantStore } from '@device-grant/core'
import { MemoryStore } from '@device-grant/store-memory'

export interface RateLimitRule {
  /** Attempts allowed per window. */
  max: number
  /** Window length in seconds. */
  window: number
}

export interface RateLimitOptions {
  /**
   * Failed code entries (unknown or malformed codes) per address: an IPv4 address, or an IPv6
   * prefix (`ipv6Prefix`, default /64). Default 10 per 10 minutes.
   */
  perIp?: RateLimitRule
  /** Failed code entries per signed-in account, from any address. Default 10 per 10 minutes. */
  perAccount?: RateLimitRule
  /** Lookups of one code, from anyone. Default 10 per 10 minutes. */
  perCode?: RateLimitRule
  /**
   * Failed code entries from everyone. Over it, a `verification.attack_suspected` event (once
   * per window) and every address and account gets a fifth of its allowance until the window
   * ends. Default 1000 per 10 minutes; `false` turns it off.
   */
  global?: RateLimitRule | false
}

export const DEFAULT_RATE_LIMIT = {
  perIp: { max: 10, window: 600 },
  perAccount: { max: 10, window: 600 },
  perCode: { max: 10, window: 600 },
  global: { max: 1000, window: 600 }
} as const satisfies Required<RateLimitOptions>

/** While the global budget is spent, each address and account gets `max / TIGHTENING` (at least 1). */
export const TIGHTENING = 5

/**
 * RFC 6749 §2.3.1: an endpoint that checks client passwords "MUST protect [itself] against
 * brute force attacks". Failed client authentications are counted per client and per address.
 */
export interface ClientAuthRateLimitOptions {
  /** Failed authentications of one confidential client, from anywhere. Default 10 per 10 minutes. */
  perClient?: RateLimitRule
  /** Failed client authentications from one address (IPv6: prefix), whatever the client. Default 50 per 10 minutes. */
  perIp?: RateLimitRule
}

export const DEFAULT_CLIENT_AUTH_RATE_LIMIT: Required<ClientAuthRateLimitOptions> = {
  perClient: { max: 10, window: 600 },
  perIp: { max: 50, window: 600 }
}

export function validateRateLimit (value: RateLimitOptions): void {
  if (value === null || typeof value !== 'object') throw new TypeError('fastify-device-grant: pages.rateLimit must be an object or false')
  validateRule('perIp', value.perIp)
  validateRule('perAccount', value.perAccount)
  validateRule('perCode', value.perCode)
  if (value.global !== false) validateRule('global', value.global)
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

/** A fixed-window counter: the store contract's optional `hit` (a negative increment refunds). */
export type Counter = (key: string, window: { windowMs: number, now: number, increment: number }) => Promise<CounterHit>

/**
 * The store's own counter when it has one (the limits then hold across every instance sharing
 * the store), else one in this process. `close` releases the in-process fallback. The plugin
 * keeps store-memory as a dependency anyway: it is the default store.
 */
export function counterFor (store: DeviceGrantStore): { counter: Counter, close: () => Promise<void> } {
  if (typeof store.hit === 'function') return { counter: store.hit.bind(store), close: async () => {} }
  const local = new MemoryStore()
  return { counter: local.hit.bind(local), close: async () => { await local.close() } }
}

/** One counter's state after a hit, against the rule it is limited by. */
export interface Count {
  key: string
  count: number
  /** Seconds until the window ends, for `Retry-After`. */
  retryAfter: number
  windowEndsAt: number
}

export async function hit (counter: Counter, key: string, rule: RateLimitRule, increment: number, now: number): Promise<Count> {
  const result = await counter(key, { windowMs: rule.window * 1000, now, increment })
  return { key, count: result.count, retryAfter: Math.max(1, Math.ceil((result.resetAt - now) / 1000)), windowEndsAt: result.resetAt }
}
