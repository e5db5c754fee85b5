import { hash } from 'node:crypto'
import { randomBase64url } from './random-pool.js'

/** 32 bytes: 256 bits, well past RFC 6749 §10.10's 2^-160 guessing bound. */
const DEVICE_CODE_BYTES = 32

export function generateDeviceCode (): string {
  return randomBase64url(DEVICE_CODE_BYTES)
}

/**
 * Stores keep only this hash, so a leaked store holds no code a device could poll with.
 * A plain SHA-256 is enough: the input is 256 random bits, not a password.
 */
export function hashDeviceCode (deviceCode: string): string {
  // The one-shot `crypto.hash` (Node 20.12+) skips the Hash object `createHash` builds: it runs
  // on every poll. Same digest, UTF-8 input as `update()` assumes.
  return hash('sha256', deviceCode, 'base64url')
}
