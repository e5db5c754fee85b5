import { checkCounterWindow, checkOnceUse } from '@device-grant/core'
import type {
  Approval,
  CounterHit,
  CounterWindow,
  Decision,
  DeviceGrantRecord,
  DeviceGrantStore,
  OnceUse,
  PollBookkeeping,
  PollResult,
  StoreCapabilities
} from '@device-grant/core'

/** What several `ReferenceStore`s share when they stand for processes on one backend. */
export interface Backend {
  byHash: Map<string, DeviceGrantRecord>
  byUserCode: Map<string, string>
  counters: Map<string, CounterHit>
  /** Used keys and when each use ends. */
  used: Map<string, number>
}

export function newBackend (): Backend {
  return { byHash: new Map(), byUserCode: new Map(), counters: new Map(), used: new Map() }
}

/**
 * A second, deliberately plain implementation of the contract, written from `store.ts` alone,
 * so the suite is checked against something other than the memory store. Its decisions go
 * through small protected methods that the mutants in `mutants.ts` override to break one rule each.
 */
export class ReferenceStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities
  protected readonly backend: Backend
  closed = false

  constructor (shared?: Backend) {
    this.backend = shared ?? newBackend()
    this.capabilities = { sharedAcrossProcesses: shared !== undefined }
  }

  protected copy (record: DeviceGrantRecord): DeviceGrantRecord {
    return { ...record }
  }

  protected isLive (record: DeviceGrantRecord, now: number): boolean {
    return now < record.expiresAt
  }

  protected tooFast (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
    return record.lastPolledAt !== undefined && poll.now - record.lastPolledAt < record.interval * 1000 - poll.leewayMs
  }

  protected pollCounts (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
    return record.status === 'pending' && this.isLive(record, poll.now) && record.clientId === poll.clientId
  }

  protected mayDecide (record: DeviceGrantRecord, decision: Decision): boolean {
    return record.status === 'pending' && this.isLive(record, decision.now) &&
      (record.subject === undefined || record.subject === decision.subject)
  }

  protected userCodeTaken (holder: DeviceGrantRecord, grant: DeviceGrantRecord): boolean {
    return grant.createdAt < holder.expiresAt
  }

  protected raw (deviceCodeHash: string): DeviceGrantRecord | undefined {
    return this.backend.byHash.get(deviceCodeHash)
  }

  protected put (record: DeviceGrantRecord): void {
    this.backend.byHash.set(record.deviceCodeHash, record)
    this.backend.byUserCode.set(record.userCode, record.deviceCodeHash)
  }

  protected drop (record: DeviceGrantRecord): void {
    this.backend.byHash.delete(record.deviceCodeHash)
    if (this.backend.byUserCode.get(record.userCode) === record.deviceCodeHash) this.backend.byUserCode.delete(record.userCode)
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    const holderHash = this.backend.byUserCode.get(grant.userCode)
    const holder = holderHash === undefined ? undefined : this.raw(holderHash)
    if (holder !== undefined && this.userCodeTaken(holder, grant)) return false
    if (this.raw(grant.deviceCodeHash) !== undefined) return false
    this.put(this.copy(grant))
    return true
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    const record = this.raw(deviceCodeHash)
    return record === undefined ? undefined : this.copy(record)
  }

  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const hash = this.backend.byUserCode.get(userCode)
    const record = hash === undefined ? undefined : this.raw(hash)
    return record === undefined ? undefined : this.copy(record)
  }

  async recordPoll (deviceCodeHash: string, poll: PollBookkeeping): Promise<PollResult | undefined> {
    const record = this.raw(deviceCodeHash)
    if (record === undefined) return undefined
    let slowDown = false
    if (this.pollCounts(record, poll)) {
      if (this.tooFast(record, poll)) {
        record.interval += poll.slowDownStep
        slowDown = true
      } else {
        record.lastPolledAt = poll.now
      }
    }
    return { grant: this.copy(record), slowDown }
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    const record = this.raw(deviceCodeHash)
    if (record === undefined || !this.mayDecide(record, decision)) return false
    record.subject = decision.subject
    return true
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const record = this.raw(deviceCodeHash)
    if (record === undefined || !this.mayDecide(record, approval)) return false
    Object.assign(record, { status: 'approved', subject: approval.subject, decidedAt: approval.now })
    if (approval.grantedScope !== undefined) record.grantedScope = approval.grantedScope
    return true
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    const record = this.raw(deviceCodeHash)
    if (record === undefined || !this.mayDecide(record, decision)) return false
    Object.assign(record, { status: 'denied', subject: decision.subject, decidedAt: decision.now })
    return true
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const record = this.raw(deviceCodeHash)
    if (record === undefined || record.status !== 'approved' || !this.isLive(record, now)) return undefined
    const before = this.copy(record)
    record.status = 'consumed'
    return before
  }

  protected windowEnd (now: number, windowMs: number): number {
    return (Math.floor(now / windowMs) + 1) * windowMs
  }

  protected floor (count: number): number {
    return Math.max(0, count)
  }

  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = this.windowEnd(window.now, window.windowMs)
    const id = `${window.windowMs}:${key}`
    const current = this.backend.counters.get(id)
    const next = { count: this.floor((current?.resetAt === resetAt ? current.count : 0) + window.increment), resetAt }
    this.backend.counters.set(id, next)
    return { ...next }
  }

  protected usedUntil (key: string): number | undefined {
    return this.backend.used.get(key)
  }

  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    const until = this.usedUntil(key)
    if (until !== undefined && use.now < until) return false
    this.backend.used.set(key, use.expiresAt)
    return true
  }

  async deleteExpired (now: number): Promise<number> {
    const expired = [...this.backend.byHash.values()].filter((record) => record.expiresAt <= now)
    for (const record of expired) this.drop(record)
    return expired.length
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
