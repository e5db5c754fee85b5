import assert from 'node:assert/strict'
import type { DeviceGrantRecord, DeviceGrantStore } from '@device-grant/core'

/** The optional fields of a record: absent (or undefined) when not set, never `null`. */
export const OPTIONAL_FIELDS = ['lastPolledAt', 'subject', 'grantedScope', 'decidedAt', 'ip', 'userAgent'] as const

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

/** Fails unless the store holds exactly `expected` under its device-code hash. */
export async function assertStored (store: DeviceGrantStore, expected: DeviceGrantRecord, message: string): Promise<void> {
  assertRecord(await store.findByDeviceCodeHash(expected.deviceCodeHash), expected, message)
}
