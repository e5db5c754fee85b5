import { createHash, randomBytes } from 'node:crypto'

/** 32 bytes: 256 bits, well past RFC 6749 §10.10's 2^-160 guessing bound. */
const DEVICE_CODE_BYTES = 32

export function generateDeviceCode (): string {
  return randomBytes(DEVICE_CODE_BYTES).toString('base64url')
}

/**
 * Stores keep only this hash, so a leaked store holds no code a device could poll with.
 * A plain SHA-256 is enough: the input is 256 random bits, not a password.
 */
export function hashDeviceCode (deviceCode: string): string {
  return createHash('sha256').update(deviceCode).digest('base64url')
}
