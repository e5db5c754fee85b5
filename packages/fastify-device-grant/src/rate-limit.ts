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

export function validateRule (name: string, rule: RateLimitRule | undefined): void {
  if (rule === undefined) return
  if (rule === null || typeof rule !== 'object' || !Number.isInteger(rule.max) || rule.max < 1 ||
    !Number.isFinite(rule.window) || rule.window <= 0) {
    throw new TypeError(`fastify-device-grant: pages.rateLimit.${name} needs an integer max >= 1 and a window in seconds > 0`)
  }
}
