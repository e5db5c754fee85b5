import type { DeviceGrantRecord, GrantStatus } from '@device-grant/core'

/**
 * A grant as the memory store holds it. Every field exists from construction, in one order,
 * absent times as `NaN`: all grants share one hidden class whose fields never change kind, so
 * the poll's bookkeeping writes are plain stores rather than a property added to the record on
 * its first poll (see bench/README.md, "Optimisations so far").
 */
export class StoredGrant {
  readonly deviceCodeHash: string
  readonly userCode: string
  readonly clientId: string
  readonly scope: string
  status: GrantStatus
  readonly createdAt: number
  readonly expiresAt: number
  interval: number
  /** `NaN` until the first poll on time. */
  lastPolledAt: number
  subject: string | undefined
  grantedScope: string | undefined
  /** `NaN` until decided. */
  decidedAt: number
  readonly ip: string | undefined
  readonly userAgent: string | undefined
  readonly dpopJkt: string | undefined

  constructor (g: DeviceGrantRecord) {
    this.deviceCodeHash = g.deviceCodeHash
    this.userCode = g.userCode
    this.clientId = g.clientId
    this.scope = g.scope
    this.status = g.status
    this.createdAt = g.createdAt
    this.expiresAt = g.expiresAt
    this.interval = g.interval
    this.lastPolledAt = g.lastPolledAt ?? NaN
    this.subject = g.subject
    this.grantedScope = g.grantedScope
    this.decidedAt = g.decidedAt ?? NaN
    this.ip = g.ip
    this.userAgent = g.userAgent
    this.dpopJkt = g.dpopJkt
  }

  /** A fresh `DeviceGrantRecord`: unset fields are absent, as the store contract asks. */
  toRecord (): DeviceGrantRecord {
    const r: DeviceGrantRecord = {
      deviceCodeHash: this.deviceCodeHash,
      userCode: this.userCode,
      clientId: this.clientId,
      scope: this.scope,
      status: this.status,
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
      interval: this.interval
    }
    if (!Number.isNaN(this.lastPolledAt)) r.lastPolledAt = this.lastPolledAt
    if (this.subject !== undefined) r.subject = this.subject
    if (this.grantedScope !== undefined) r.grantedScope = this.grantedScope
    if (!Number.isNaN(this.decidedAt)) r.decidedAt = this.decidedAt
    if (this.ip !== undefined) r.ip = this.ip
    if (this.userAgent !== undefined) r.userAgent = this.userAgent
    if (this.dpopJkt !== undefined) r.dpopJkt = this.dpopJkt
    return r
  }
}
