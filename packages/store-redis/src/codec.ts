import { POLLED_FIELDS, type DeviceGrantRecord, type GrantStatus, type PolledGrant } from '@device-grant/core'

type Hash = Record<string, string | undefined>

const TEXT_FIELDS = ['deviceCodeHash', 'userCode', 'clientId', 'scope', 'status'] as const
const NUMBER_FIELDS = ['createdAt', 'expiresAt', 'interval'] as const
const OPTIONAL_TEXT_FIELDS = ['subject', 'grantedScope', 'ip', 'userAgent', 'dpopJkt'] as const
const OPTIONAL_NUMBER_FIELDS = ['lastPolledAt', 'decidedAt'] as const

/**
 * Field/value pairs for HSET. Numbers become decimal strings (`String(n)` round-trips any
 * double exactly); unset optional fields are left out rather than stored empty, because `''`
 * is a meaningful value (an empty scope).
 */
export function encodeRecord (grant: DeviceGrantRecord): string[] {
  const out: string[] = []
  for (const f of TEXT_FIELDS) out.push(f, grant[f])
  for (const f of NUMBER_FIELDS) out.push(f, String(grant[f]))
  for (const f of OPTIONAL_TEXT_FIELDS) {
    const v = grant[f]
    if (v !== undefined) out.push(f, v)
  }
  for (const f of OPTIONAL_NUMBER_FIELDS) {
    const v = grant[f]
    if (v !== undefined) out.push(f, String(v))
  }
  return out
}

/** The flat `[field, value, ...]` reply of HGETALL inside Lua, as an object. */
export function pairsToHash (reply: unknown[]): Hash {
  const h: Hash = {}
  for (let i = 0; i + 1 < reply.length; i += 2) h[String(reply[i])] = String(reply[i + 1])
  return h
}

/** A fresh record from a stored hash; undefined when the hash is empty (no such grant). */
export function decodeRecord (h: Hash): DeviceGrantRecord | undefined {
  if (h.deviceCodeHash === undefined) return undefined
  const r: DeviceGrantRecord = {
    deviceCodeHash: h.deviceCodeHash,
    // save writes every required field in one HSET, so a hash with one has them all.
    userCode: h.userCode as string,
    clientId: h.clientId as string,
    scope: h.scope as string,
    status: h.status as GrantStatus,
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
    interval: Number(h.interval)
  }
  for (const f of OPTIONAL_TEXT_FIELDS) {
    const v = h[f]
    if (v !== undefined) r[f] = v
  }
  for (const f of OPTIONAL_NUMBER_FIELDS) {
    const v = h[f]
    if (v !== undefined) r[f] = Number(v)
  }
  return r
}

type PolledField = typeof POLLED_FIELDS[number]

/** Where each polled field sits in the RECORD_POLL script's reply (`[slowDown, ...POLLED_FIELDS]`). */
const AT = Object.fromEntries(POLLED_FIELDS.map((f, i) => [f, i + 1])) as Record<PolledField, number>

/**
 * The grant in the RECORD_POLL script's reply; `lastPolledAt` is null before the first poll on
 * time. One object literal, the same shape on every poll.
 */
export function decodePolled (reply: unknown[]): PolledGrant {
  // The script answers only for a record, and save writes every required field at once.
  const grant: PolledGrant = {
    clientId: String(reply[AT.clientId]),
    status: reply[AT.status] as GrantStatus,
    expiresAt: Number(reply[AT.expiresAt]),
    interval: Number(reply[AT.interval])
  }
  const lastPolledAt = reply[AT.lastPolledAt]
  if (lastPolledAt !== null && lastPolledAt !== undefined) grant.lastPolledAt = Number(lastPolledAt)
  return grant
}
