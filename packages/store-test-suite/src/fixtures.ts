import { createHash, randomBytes, randomInt } from 'node:crypto'
import { BASE20_CHARSET } from '@device-grant/core'
import type { DeviceGrantRecord, PollBookkeeping } from '@device-grant/core'

/**
 * How long a grant made by `makeGrant` lives. Stores with a real TTL (Redis) set it from
 * `expiresAt` against the wall clock, so fixtures must stay alive well past a slow suite run:
 * expiry is tested by passing a later `now`, never by waiting.
 */
export const GRANT_LIFETIME_MS = 15 * 60_000

/** The subject the cases decide with, unless a case needs several. */
export const SUBJECT = 'suite-user-1'

/** Poll defaults of the plugin: 1 s of leeway, `slow_down` adds 5 s. */
export const POLL_LEEWAY_MS = 1000
export const SLOW_DOWN_STEP = 5

/** SHA-256 of fresh random bytes, base64url: the shape of a real device-code hash (43 chars). */
export function randomDeviceCodeHash (): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url')
}

/** A random RFC 9449 JWK SHA-256 thumbprint (base64url, 43 characters), for `dpopJkt`. */
export function randomDpopJkt (): string {
  return randomDeviceCodeHash()
}

/**
 * A random normalized user code from the default base-20 charset. 8 characters give 34.5 bits,
 * so cases that share one database (and parallel runs) do not collide by accident.
 */
export function randomUserCode (length = 8): string {
  let code = ''
  for (let i = 0; i < length; i++) code += BASE20_CHARSET[randomInt(BASE20_CHARSET.length)]
  return code
}

/**
 * A valid pending `DeviceGrantRecord` with fresh random codes, created now (wall clock) and
 * expiring `GRANT_LIFETIME_MS` later. When `createdAt` is overridden alone, `expiresAt` follows it.
 */
export function makeGrant (overrides: Partial<DeviceGrantRecord> = {}): DeviceGrantRecord {
  const createdAt = overrides.createdAt ?? Date.now()
  return {
    deviceCodeHash: randomDeviceCodeHash(),
    userCode: randomUserCode(),
    clientId: 'suite-client',
    scope: 'openid profile',
    status: 'pending',
    createdAt,
    expiresAt: createdAt + GRANT_LIFETIME_MS,
    interval: 5,
    ...overrides
  }
}

/** A poll by the grant's own client at `now`, with the plugin's default leeway and step. */
export function makePoll (grant: DeviceGrantRecord, now: number, overrides: Partial<PollBookkeeping> = {}): PollBookkeeping {
  return { clientId: grant.clientId, now, leewayMs: POLL_LEEWAY_MS, slowDownStep: SLOW_DOWN_STEP, ...overrides }
}
