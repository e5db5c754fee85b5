import assert from 'node:assert/strict'
import type { DeviceGrantRecord, DeviceGrantStore, PolledGrant } from '@device-grant/core'
import { SUBJECT, makeGrant } from './fixtures.js'

/** Grants taken to each state the way the cases need them, and small shared helpers. */

export const OTHER_SUBJECT = 'suite-user-2'
/** When the fixtures decide a grant: one second after it was created. */
export const DECIDED_AFTER_MS = 1000

export async function savePending (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = makeGrant(overrides)
  assert.equal(await store.save(grant), true, 'saving a fresh grant should resolve true')
  return grant
}

export async function saveApproved (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await savePending(store, overrides)
  const now = grant.createdAt + DECIDED_AFTER_MS
  assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'approve of a fresh grant should win')
  return { ...grant, status: 'approved', subject: SUBJECT, decidedAt: now }
}

export async function saveDenied (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await savePending(store, overrides)
  const now = grant.createdAt + DECIDED_AFTER_MS
  assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true, 'deny of a fresh grant should win')
  return { ...grant, status: 'denied', subject: SUBJECT, decidedAt: now }
}

export async function saveConsumed (store: DeviceGrantStore, overrides: Partial<DeviceGrantRecord> = {}): Promise<DeviceGrantRecord> {
  const grant = await saveApproved(store, overrides)
  assert.notEqual(await store.claim(grant.deviceCodeHash, grant.createdAt + 2 * DECIDED_AFTER_MS), undefined, 'claim of an approved grant should win')
  return { ...grant, status: 'consumed' }
}

export const decided = [
  ['approved', saveApproved],
  ['denied', saveDenied],
  ['consumed', saveConsumed]
] as const

export type DecidedStatus = typeof decided[number][0]

/** Takes `grant`, already saved, to `status` the way the fixtures decide; resolves the record expected. */
export async function decide (store: DeviceGrantStore, grant: DeviceGrantRecord, status: DecidedStatus): Promise<DeviceGrantRecord> {
  const now = grant.createdAt + DECIDED_AFTER_MS
  const base: DeviceGrantRecord = { ...grant, subject: SUBJECT, decidedAt: now }
  if (status === 'denied') {
    assert.equal(await store.deny(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
    return { ...base, status: 'denied' }
  }
  assert.equal(await store.approve(grant.deviceCodeHash, { subject: SUBJECT, now }), true)
  if (status === 'approved') return { ...base, status: 'approved' }
  assert.notEqual(await store.claim(grant.deviceCodeHash, now + DECIDED_AFTER_MS), undefined)
  return { ...base, status: 'consumed' }
}

/** Scribbles over a returned record, to check nothing stored changes with it. */
export function mutate (record: PolledGrant & Partial<DeviceGrantRecord>): void {
  record.status = 'denied'
  record.subject = 'mallory'
  record.scope = 'admin'
  record.interval = 999
  record.expiresAt = 0
  record.lastPolledAt = 1
  record.dpopJkt = 'mallory-key'
}

export function count<T> (values: T[], predicate: (value: T) => boolean): number {
  return values.filter(predicate).length
}
