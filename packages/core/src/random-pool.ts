import { randomFillSync } from 'node:crypto'

/**
 * CSPRNG bytes handed out from a pool refilled by one `randomFillSync` per 4 KiB. Codes are
 * minted on every device authorization; a native call per code (`randomBytes`, or
 * `randomInt` per user-code character) costs more than the rest of minting them. Node pools
 * the entropy of `randomUUID` and `randomInt` the same way. Every byte is handed out once.
 */
const pool = Buffer.alloc(4096)
let offset = pool.length

/** `count` fresh random bytes as base64url (`count` <= 4096). */
export function randomBase64url (count: number): string {
  if (offset + count > pool.length) refill()
  const out = pool.toString('base64url', offset, offset + count)
  offset += count
  return out
}

/** One fresh random byte, 0–255. */
export function randomByte (): number {
  if (offset === pool.length) refill()
  return pool[offset++] as number
}

function refill (): void {
  randomFillSync(pool)
  offset = 0
}
