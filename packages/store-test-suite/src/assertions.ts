import assert from 'node:assert/strict'
import { POLLED_FIELDS } from '@device-grant/core'
import type { DeviceGrantRecord, DeviceGrantStore, PolledGrant } from '@device-grant/core'

/** The optional fields of a record: absent (or undefined) when not set, never `null`. */
export const OPTIONAL_FIELDS = ['lastPolledAt', 'subject', 'grantedScope', 'decidedAt', 'ip', 'userAgent', 'dpopJkt'] as const

/** A client no grant of the suite belongs to: its polls read a record and write nothing. */
const STRANGER = 'suite-stranger-client'

/**
 * The record as a plain object without its undefined-valued keys: `{ subject: undefined }` and
 * `{}` mean the same to every caller, while `null`, a string where a number belongs, or an extra
 * column still make the comparison fail.
 */
export function plainRecord (record: DeviceGrantRecord): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined))
}

/** Fails unless `actual` is a record equal to `expected`, field by field. */
export function assertRecord (
  actual: DeviceGrantRecord | undefined,
  expected: DeviceGrantRecord,
  message: string
): asserts actual is DeviceGrantRecord {
  assert.ok(actual !== undefined && actual !== null, `${message}: expected a record, got ${String(actual)}`)
  assert.deepStrictEqual(plainRecord(actual), plainRecord(expected), message)
}

/**
 * Fails unless `actual` reports `expected`'s polled fields (`POLLED_FIELDS`). A store may
 * return more of the record; no caller reads the rest from a poll, so only these are compared.
 */
export function assertPolled (actual: PolledGrant | undefined, expected: DeviceGrantRecord, message: string): void {
  assert.ok(actual !== undefined && actual !== null, `${message}: expected a polled grant, got ${String(actual)}`)
  const pick = (r: PolledGrant): Record<string, unknown> =>
    Object.fromEntries(POLLED_FIELDS.map((f) => [f, r[f]]).filter(([, value]) => value !== undefined))
  assert.deepStrictEqual(pick(actual), pick(expected), message)
}

/**
 * Fails unless the store holds exactly `expected`, found by its user code (the lookup every
 * store has; `findByDeviceCodeHash` is optional).
 */
export async function assertStored (store: DeviceGrantStore, expected: DeviceGrantRecord, message: string): Promise<void> {
  assertRecord(await store.findByUserCode(expected.userCode), expected, message)
}

/**
 * Fails if any record is stored under `deviceCodeHash`. It asks with a poll by a client the
 * record cannot belong to: `recordPoll` resolves undefined only when there is no record, and
 * writes nothing for another client.
 */
export async function assertNoRecord (store: DeviceGrantStore, deviceCodeHash: string, message: string): Promise<void> {
  const poll = { clientId: STRANGER, now: Date.now(), leewayMs: 0, slowDownStep: 0 }
  const found = await store.recordPoll(deviceCodeHash, poll)
  assert.equal(found, undefined, `${message}: a record is stored under the device-code hash`)
}
