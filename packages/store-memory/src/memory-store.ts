import { checkCounterWindow, checkOnceUse, retentionMs, windowEnd } from '@device-grant/core'
import type {
  Approval,
  Clock,
  CounterHit,
  CounterWindow,
  Decision,
  DeviceGrantRecord,
  DeviceGrantStore,
  OnceUse,
  PollBookkeeping,
  PolledGrant,
  PollResult,
  StoreCapabilities
} from '@device-grant/core'
import { StoredGrant } from './stored-grant.js'

export interface MemoryStoreOptions {
  /**
   * Seconds a record is kept after it expires, so a late poll still hears `expired_token`
   * rather than `invalid_grant`. Default 600.
   */
  retention?: number
  /** Seconds between sweeps of expired records. Default 60. 0 turns the timer off. */
  sweepInterval?: number
  /** Most records one sweep deletes, so a sweep never blocks the event loop for long. Default 10000. */
  sweepBatch?: number
  /** Clock used only to decide what to sweep. Default `Date.now`. */
  clock?: Clock
}

/**
 * Keeps grants in two Maps in this process. Every operation is synchronous inside, so each
 * check-and-set is atomic by construction. Not for more than one process: use the Redis or
 * Prisma store there.
 */
export class MemoryStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: false }
  readonly #byHash = new Map<string, StoredGrant>()
  readonly #byUserCode = new Map<string, string>()
  readonly #counters = new Map<string, CounterHit>()
  /** Used keys and when each stops being used, in insertion order. */
  readonly #used = new Map<string, number>()
  readonly #retentionMs: number
  readonly #sweepBatch: number
  readonly #clock: Clock
  #timer: NodeJS.Timeout | undefined

  constructor (options: MemoryStoreOptions = {}) {
    this.#retentionMs = retentionMs(options.retention, '@device-grant/store-memory')
    const sweepInterval = options.sweepInterval ?? 60
    const sweepBatch = options.sweepBatch ?? 10_000
    if (!(Number.isFinite(sweepInterval) && sweepInterval >= 0)) throw new TypeError('@device-grant/store-memory: sweepInterval must be a number of seconds >= 0')
    if (!(Number.isInteger(sweepBatch) && sweepBatch > 0)) throw new TypeError('@device-grant/store-memory: sweepBatch must be a positive integer')
    this.#sweepBatch = sweepBatch
    this.#clock = options.clock ?? Date.now
    if (sweepInterval > 0) {
      this.#timer = setInterval(() => { this.#sweep(this.#clock()) }, sweepInterval * 1000)
      this.#timer.unref()
    }
  }

  /** Number of records held, expired ones not yet swept included. */
  get size (): number {
    return this.#byHash.size
  }

  async save (grant: DeviceGrantRecord): Promise<boolean> {
    const holder = this.#byUserCode.get(grant.userCode)
    if (holder !== undefined) {
      const other = this.#byHash.get(holder)
      if (other !== undefined && grant.createdAt < other.expiresAt) return false
      if (other !== undefined) this.#byHash.delete(holder)
    }
    if (this.#byHash.has(grant.deviceCodeHash)) return false
    this.#byHash.set(grant.deviceCodeHash, new StoredGrant(grant))
    this.#byUserCode.set(grant.userCode, grant.deviceCodeHash)
    return true
  }

  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    return this.#byHash.get(deviceCodeHash)?.toRecord()
  }

  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const hash = this.#byUserCode.get(userCode)
    return hash === undefined ? undefined : this.#byHash.get(hash)?.toRecord()
  }

  async recordPoll (deviceCodeHash: string, poll: PollBookkeeping): Promise<PollResult | undefined> {
    const r = this.#byHash.get(deviceCodeHash)
    if (r === undefined) return undefined
    let slowDown = false
    if (r.status === 'pending' && poll.now < r.expiresAt && r.clientId === poll.clientId) {
      // NaN (never polled) compares false: the first poll is always on time.
      if (poll.now - r.lastPolledAt < r.interval * 1000 - poll.leewayMs) {
        r.interval += poll.slowDownStep
        slowDown = true
      } else {
        r.lastPolledAt = poll.now
      }
    }
    const grant: PolledGrant = { clientId: r.clientId, status: r.status, expiresAt: r.expiresAt, interval: r.interval }
    if (!Number.isNaN(r.lastPolledAt)) grant.lastPolledAt = r.lastPolledAt
    return { grant, slowDown }
  }

  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    const r = this.#decidable(deviceCodeHash, decision)
    if (r === undefined) return false
    r.subject = decision.subject
    return true
  }

  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const r = this.#decidable(deviceCodeHash, approval)
    if (r === undefined) return false
    r.status = 'approved'
    r.subject = approval.subject
    r.decidedAt = approval.now
    if (approval.grantedScope !== undefined) r.grantedScope = approval.grantedScope
    return true
  }

  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    const r = this.#decidable(deviceCodeHash, decision)
    if (r === undefined) return false
    r.status = 'denied'
    r.subject = decision.subject
    r.decidedAt = decision.now
    return true
  }

  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const r = this.#byHash.get(deviceCodeHash)
    if (r === undefined || r.status !== 'approved' || now >= r.expiresAt) return undefined
    const before = r.toRecord()
    r.status = 'consumed'
    return before
  }

  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = windowEnd(window)
    const id = `${window.windowMs}:${key}`
    let counter = this.#counters.get(id)
    if (counter === undefined || counter.resetAt !== resetAt) {
      counter = { count: 0, resetAt }
      // Re-inserting keeps the Map in window-end order for the sweep.
      this.#counters.delete(id)
      this.#counters.set(id, counter)
    }
    counter.count = Math.max(0, counter.count + window.increment)
    return { ...counter }
  }

  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    const until = this.#used.get(key)
    if (until !== undefined && use.now < until) return false
    // Re-inserting keeps the Map roughly in expiry order for the sweep.
    this.#used.delete(key)
    this.#used.set(key, use.expiresAt)
    return true
  }

  /** Drops every record with `expiresAt <= now`, whatever the retention: a full scan. */
  async deleteExpired (now: number): Promise<number> {
    let deleted = 0
    for (const [hash, r] of this.#byHash) {
      if (r.expiresAt <= now) {
        this.#delete(hash, r)
        deleted++
      }
    }
    return deleted
  }

  /**
   * One sweep, as the timer runs it: drops the records expired more than `retention` before
   * `now` (default: the store's clock), at most `sweepBatch` of them, and the counters and
   * used keys that have expired. Resolves how many records it dropped.
   */
  async sweep (now: number = this.#clock()): Promise<number> {
    return this.#sweep(now)
  }

  /**
   * Records go in roughly in expiry order (one store, one `expiresIn`), so the sweep walks from
   * the oldest and stops at the first record still kept, or after `sweepBatch` deletions: its
   * cost is bounded whatever the store's size, and it never holds the event loop for long.
   */
  #sweep (now: number): number {
    for (const [id, c] of this.#counters) {
      if (c.resetAt > now) break
      this.#counters.delete(id)
    }
    for (const [key, until] of this.#used) {
      if (until > now) break
      this.#used.delete(key)
    }
    let deleted = 0
    for (const [hash, r] of this.#byHash) {
      if (now < r.expiresAt + this.#retentionMs || deleted >= this.#sweepBatch) break
      this.#delete(hash, r)
      deleted++
    }
    return deleted
  }

  async close (): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #delete (hash: string, r: StoredGrant): void {
    this.#byHash.delete(hash)
    if (this.#byUserCode.get(r.userCode) === hash) this.#byUserCode.delete(r.userCode)
  }

  /** A live, pending grant that `subject` may decide, or undefined. */
  #decidable (deviceCodeHash: string, decision: Decision): StoredGrant | undefined {
    const r = this.#byHash.get(deviceCodeHash)
    if (r === undefined || r.status !== 'pending' || decision.now >= r.expiresAt) return undefined
    if (r.subject !== undefined && r.subject !== decision.subject) return undefined
    return r
  }
}

export function memoryStore (options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options)
}
