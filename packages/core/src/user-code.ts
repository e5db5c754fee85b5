import { randomByte } from './random-pool.js'

/** RFC 8628 §6.1: base-20, no vowels (no words) and no confusable characters. */
export const BASE20_CHARSET = 'BCDFGHJKLMNPQRSTVWXZ'
export const DIGITS_CHARSET = '0123456789'

export interface UserCodeOptions {
  /** Characters a code is drawn from. Default `BCDFGHJKLMNPQRSTVWXZ`. */
  charset?: string
  /** Number of characters drawn. Default 8, or the number of `X` in `mask`. */
  length?: number
  /**
   * How a code is shown: each `X` is one drawn character, anything else is printed as is.
   * Default: groups of four joined by `-` (`XXXX-XXXX`).
   */
  mask?: string
}

/** Normalized input longer than this is rejected unread: no code is that long. */
const MAX_INPUT_LENGTH = 256
/** Below this a code is guessable even with rate limits (RFC 8628 §5.1). */
const MIN_ENTROPY_BITS = 20

export class UserCodeFormat {
  readonly charset: string
  readonly length: number
  readonly mask: string
  /** Bits of entropy in one code: length × log2(charset size). */
  readonly entropyBits: number
  readonly #allowed: Set<string>
  readonly #fold: ((s: string) => string) | undefined
  readonly #unbiasedBelow: number

  constructor (options: UserCodeOptions = {}) {
    const charset = options.charset ?? BASE20_CHARSET
    const chars = [...charset]
    if (chars.length < 2) throw new TypeError('userCode.charset needs at least two characters')
    if (new Set(chars).size !== chars.length) throw new TypeError('userCode.charset has repeated characters')
    if (chars.some(c => !/^[\x21-\x7E]$/.test(c) || c === '-')) {
      throw new TypeError('userCode.charset may hold only printable ASCII other than "-" and space')
    }
    const maskLength = options.mask === undefined ? undefined : [...options.mask].filter(c => c === 'X').length
    if (options.mask !== undefined && options.mask.length > 64) throw new TypeError('userCode.mask is too long')
    if (maskLength === 0) throw new TypeError('userCode.mask needs at least one X')
    if (options.length !== undefined && (!Number.isInteger(options.length) || options.length < 1 || options.length > 64)) {
      throw new TypeError('userCode.length must be an integer from 1 to 64')
    }
    if (options.length !== undefined && maskLength !== undefined && options.length !== maskLength) {
      throw new TypeError(`userCode.length (${options.length}) does not match the ${maskLength} X in userCode.mask`)
    }
    const length = options.length ?? maskLength ?? 8
    const entropyBits = length * Math.log2(chars.length)
    if (entropyBits < MIN_ENTROPY_BITS) {
      throw new TypeError(`userCode has ${entropyBits.toFixed(1)} bits of entropy; at least ${MIN_ENTROPY_BITS} are needed`)
    }
    this.charset = charset
    this.length = length
    this.mask = options.mask ?? defaultMask(length)
    this.entropyBits = entropyBits
    // Case-fold input only when the charset is single-case, so `wdjb` matches `WDJB`.
    const upper = charset.toUpperCase() === charset
    const lower = charset.toLowerCase() === charset
    this.#fold = upper && !lower ? s => s.toUpperCase() : lower && !upper ? s => s.toLowerCase() : undefined
    this.#allowed = new Set(chars)
    this.#unbiasedBelow = 256 - (256 % chars.length)
  }

  /**
   * A fresh code, normalized (no mask). Uniform: a random byte maps to a character only below
   * the largest multiple of the charset's size (240 for 20), so there is no modulo bias; the
   * rest are drawn again.
   */
  generate (): string {
    const size = this.charset.length
    let code = ''
    while (code.length < this.length) {
      const b = randomByte()
      if (b < this.#unbiasedBelow) code += this.charset[b % size]
    }
    return code
  }

  /**
   * RFC 8628 §6.1: case-fold, then drop everything outside the charset (dashes, spaces, dots).
   * Returns undefined when what is left cannot be a code, so callers never look it up.
   */
  normalize (input: string): string | undefined {
    if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return undefined
    const folded = this.#fold === undefined ? input : this.#fold(input)
    let out = ''
    for (const c of folded) if (this.#allowed.has(c)) out += c
    return out.length === this.length ? out : undefined
  }

  /** A normalized code laid out with the mask, e.g. `WDJBMJHT` → `WDJB-MJHT`. */
  format (code: string): string {
    let i = 0
    let out = ''
    for (const m of this.mask) out += m === 'X' ? (code[i++] ?? '') : m
    return out
  }
}

function defaultMask (length: number): string {
  const groups: string[] = []
  for (let i = 0; i < length; i += 4) groups.push('X'.repeat(Math.min(4, length - i)))
  return groups.join('-')
}
