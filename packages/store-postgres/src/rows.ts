import { SAVE_FIELDS } from './sql.js'
import type { DeviceGrantRecord, GrantStatus, PolledGrant, PollResult } from '@device-grant/core'

/**
 * A time as a driver returns a BIGINT: node-postgres as a string (its default for int8),
 * Prisma's raw queries as a `bigint`. Every time the stores write is a JavaScript number, so
 * the conversion is exact.
 */
export type Int8 = string | bigint | number

/** A grant row as the statements return it: columns aliased to the record's field names. */
export interface GrantRow {
  deviceCodeHash: string
  userCode: string
  clientId: string
  scope: string
  status: string
  createdAt: Int8
  expiresAt: Int8
  interval: number
  lastPolledAt: Int8 | null
  subject: string | null
  grantedScope: string | null
  decidedAt: Int8 | null
  ip: string | null
  userAgent: string | null
  dpopJkt: string | null
}

/** What `recordPoll` returns: the polled fields and whether this poll was too fast. */
export type PollRow = Pick<GrantRow, 'deviceCodeHash' | 'clientId' | 'status' | 'expiresAt' | 'interval' | 'lastPolledAt'> & { slowDown: boolean }

/** A fresh `DeviceGrantRecord`; null columns become absent properties. */
export function toRecord (row: GrantRow): DeviceGrantRecord {
  const record: DeviceGrantRecord = {
    deviceCodeHash: row.deviceCodeHash,
    userCode: row.userCode,
    clientId: row.clientId,
    scope: row.scope,
    status: row.status as GrantStatus,
    createdAt: Number(row.createdAt),
    expiresAt: Number(row.expiresAt),
    interval: row.interval
  }
  if (row.lastPolledAt !== null) record.lastPolledAt = Number(row.lastPolledAt)
  if (row.subject !== null) record.subject = row.subject
  if (row.grantedScope !== null) record.grantedScope = row.grantedScope
  if (row.decidedAt !== null) record.decidedAt = Number(row.decidedAt)
  if (row.ip !== null) record.ip = row.ip
  if (row.userAgent !== null) record.userAgent = row.userAgent
  if (row.dpopJkt !== null) record.dpopJkt = row.dpopJkt
  return record
}

export function toPollResult (row: PollRow | undefined): PollResult | undefined {
  if (row === undefined) return undefined
  const grant: PolledGrant = { clientId: row.clientId, status: row.status as GrantStatus, expiresAt: Number(row.expiresAt), interval: row.interval }
  if (row.lastPolledAt !== null) grant.lastPolledAt = Number(row.lastPolledAt)
  return { grant, slowDown: row.slowDown === true }
}

/** `save`'s parameters, in SAVE_FIELDS order, absent fields as null. */
export function saveValues (grant: DeviceGrantRecord): unknown[] {
  return SAVE_FIELDS.map(([field]) => grant[field] ?? null)
}
