import { hash, randomFillSync } from 'node:crypto'

/** 32 bytes: 256 bits, well past RFC 6749 §10.10's 2^-160 guessing bound. */
const DEVICE_CODE_BYTES = 32

/**
 * Random bytes for 128 codes at a time. `randomBytes(32)` per code was about a third of the
 * device authorization endpoint's own CPU time (a native job per call); one `randomFillSync` per
 * 128 codes costs little more than one such call. Node's `crypto.randomUUID` pools its entropy
 * the same way. Every window of the pool is handed out once, then the pool is refilled.
 */
const pool = Buffer.alloc(DEVICE_CODE_BYTES * 128)
let poolOffset = pool.length

export function generateDeviceCode (): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const code = pool.toString('base64url', poolOffset, poolOffset + DEVICE_CODE_BYTES)
  poolOffset += DEVICE_CODE_BYTES
  return code
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
