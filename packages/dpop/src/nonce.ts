import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export interface NonceOptions {
  /**
   * Key of the nonces' HMAC. Every instance behind one issuer needs the same one (at least 32
   * bytes); without it, a random key per process, which suits a single instance only.
   */
  secret?: string | Uint8Array
  /** Seconds a nonce is issued for; one stays accepted for up to twice that. Default 300. */
  lifetime?: number
}

export const DEFAULT_NONCE_LIFETIME = 300

/**
 * Server nonces (RFC 9449 §8) without server state: a nonce names its time slot and carries an
 * HMAC of it, so any instance with the key checks any other's nonce, and no store round trip is
 * spent on it. The current and the previous slot are accepted, so a nonce handed out just
 * before a slot ends still works for one full lifetime.
 */
export class NonceSource {
  readonly #key: Buffer
  readonly #lifetimeMs: number

  constructor (options: NonceOptions = {}) {
    const { secret, lifetime = DEFAULT_NONCE_LIFETIME } = options
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 86400) {
      throw new TypeError(`@device-grant/dpop: nonce lifetime must be an integer from 1 to 86400 seconds, got ${String(lifetime)}`)
    }
    if (secret !== undefined && (typeof secret === 'string' ? Buffer.byteLength(secret) : secret?.byteLength ?? 0) < 32) {
      throw new TypeError('@device-grant/dpop: the nonce secret must be at least 32 bytes')
    }
    this.#key = secret === undefined ? randomBytes(32) : Buffer.from(secret)
    this.#lifetimeMs = lifetime * 1000
  }

  #sign (slot: number): string {
    return `${slot.toString(36)}.${createHmac('sha256', this.#key).update(`dpop-nonce:${slot}`).digest('base64url').slice(0, 22)}`
  }

  /** The nonce to hand out at `now` (ms). */
  current (now: number): string {
    return this.#sign(Math.floor(now / this.#lifetimeMs))
  }

  /** Whether `nonce` was handed out by a source with this key, this slot or the one before. */
  accepts (nonce: string, now: number): boolean {
    const dot = nonce.indexOf('.')
    if (dot < 1 || dot > 12) return false
    const slot = parseInt(nonce.slice(0, dot), 36)
    const currentSlot = Math.floor(now / this.#lifetimeMs)
    if (slot !== currentSlot && slot !== currentSlot - 1) return false
    const expected = Buffer.from(this.#sign(slot))
    const given = Buffer.from(nonce)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
