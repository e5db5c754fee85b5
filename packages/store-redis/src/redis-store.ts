import {
  checkCounterWindow,
  checkOnceUse,
  windowEnd,
  type Approval,
  type CounterHit,
  type CounterWindow,
  type Decision,
  type DeviceGrantRecord,
  type DeviceGrantStore,
  type OnceUse,
  type PollInput,
  type PollResult,
  type StoreCapabilities
} from '@device-grant/core'
import type { Cluster, Redis } from 'ioredis'
import { decodePolled, decodeRecord, encodeRecord, pairsToHash } from './codec.js'
import { defineScripts, type Scripts } from './commands.js'
import { Deadlines } from './deadlines.js'
import { STORE_NAME, unavailable } from './errors.js'
import { settingsOf, type RedisStoreOptions } from './options.js'
import { WriteCoalescer } from './write-coalescer.js'

/**
 * How long a counter or a used key outlives its end. Their values, not their TTLs, decide
 * every answer, so keeping them longer changes nothing; it only absorbs clock skew between
 * the app servers and Redis.
 */
const CLOCK_SKEW_GRACE_MS = 60_000

/** PXAT and PEXPIREAT take whole milliseconds; rounding up never drops a key early. */
function absoluteMs (ms: number): string {
  return String(Math.ceil(ms))
}

/**
 * Grants in Redis: one hash per grant, keyed by device-code hash, plus a user-code index.
 * Every operation but `save` and `findByUserCode` is a single round trip; every transition
 * is a Lua script that checks and writes atomically. See the README for the key layout.
 */
export class RedisStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true }
  readonly keyPrefix: string
  readonly #client: Redis | Cluster
  readonly #retentionMs: number
  readonly #scripts: Scripts
  readonly #deadlines: Deadlines
  readonly #coalescer: WriteCoalescer | undefined

  constructor (options: RedisStoreOptions) {
    const settings = settingsOf(options)
    this.#client = settings.client
    this.keyPrefix = settings.keyPrefix
    this.#retentionMs = settings.retentionMs
    this.#deadlines = new Deadlines(settings.operationTimeout, unavailable, STORE_NAME)
    this.#coalescer = settings.coalesceWrites ? new WriteCoalescer(settings.client) : undefined
    this.#scripts = defineScripts(settings.client)
  }

  /** The grant's hash. The tag is the device-code hash, which is all the hot path knows. */
  grantKey (deviceCodeHash: string): string {
    return `${this.keyPrefix}g:{${deviceCodeHash}}`
  }

  /** The user-code index: `<expiresAt>:<deviceCodeHash>`. */
  userCodeKey (userCode: string): string {
    return `${this.keyPrefix}u:{${userCode}}`
  }

  /**
   * Two round trips: claim the user-code index, then write the record. They are different
   * slots on a cluster, so no single script may touch both; claiming the index first means a
   * save that loses on the user code writes nothing at all.
   */
  async save (grant: DeviceGrantRecord): Promise<boolean> {
    const indexKey = this.userCodeKey(grant.userCode)
    const indexValue = `${grant.expiresAt}:${grant.deviceCodeHash}`
    const pxat = absoluteMs(grant.expiresAt + this.#retentionMs)
    this.#coalescer?.hold()
    return await this.#deadlines.run('save', async (deadline) => {
      const claimed = await this.#scripts.claimUserCode(indexKey, indexValue, String(grant.createdAt), pxat)
      if (claimed !== 1) return false
      // The caller already heard "unavailable": do not leave a code it never got blocking others.
      if (deadline.expired) return this.#release(indexKey, indexValue)
      let written: unknown
      try {
        written = await this.#scripts.saveRecord(this.grantKey(grant.deviceCodeHash), pxat, ...encodeRecord(grant))
      } catch (err) {
        this.#release(indexKey, indexValue)
        throw err
      }
      if (written !== 1) {
        // Awaited, unlike the other rollbacks: a save that resolves false has written nothing.
        await this.#scripts.releaseUserCode(indexKey, indexValue)
        return false
      }
      if (deadline.expired) return this.#release(indexKey, indexValue)
      return true
    })
  }

  /** One round trip: HGETALL. */
  async findByDeviceCodeHash (deviceCodeHash: string): Promise<DeviceGrantRecord | undefined> {
    const key = this.grantKey(deviceCodeHash)
    return decodeRecord(await this.#send('findByDeviceCodeHash', () => this.#client.hgetall(key)))
  }

  /** Two round trips: GET the index, then HGETALL the record (another slot on a cluster). */
  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const indexKey = this.userCodeKey(userCode)
    this.#coalescer?.hold()
    const hash = await this.#deadlines.run('findByUserCode', async () => {
      const value = await this.#client.get(indexKey)
      if (value === null) return {}
      return await this.#client.hgetall(this.grantKey(value.slice(value.indexOf(':') + 1)))
    })
    const record = decodeRecord(hash)
    return record?.userCode === userCode ? record : undefined
  }

  /** One round trip: the RECORD_POLL script. */
  async recordPoll (deviceCodeHash: string, poll: PollInput): Promise<PollResult | undefined> {
    const key = this.grantKey(deviceCodeHash)
    const reply = await this.#send('recordPoll', () => this.#scripts.recordPoll(
      key, poll.clientId, String(poll.now), String(poll.leewayMs), String(poll.slowDownStep)
    )) as unknown[] | null
    if (reply === null) return undefined
    return { grant: decodePolled(reply), slowDown: reply[0] === 1 }
  }

  /** One round trip: the BIND_SUBJECT script. */
  async bindSubject (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    const key = this.grantKey(deviceCodeHash)
    const won = await this.#send('bindSubject', () => this.#scripts.bindSubject(key, decision.subject, String(decision.now)))
    return won === 1
  }

  /** One round trip: the DECIDE script. */
  async approve (deviceCodeHash: string, approval: Approval): Promise<boolean> {
    const scoped = approval.grantedScope !== undefined
    return await this.#decide('approve', deviceCodeHash, approval, 'approved', scoped ? '1' : '0', approval.grantedScope ?? '')
  }

  /** One round trip: the DECIDE script. */
  async deny (deviceCodeHash: string, decision: Decision): Promise<boolean> {
    return await this.#decide('deny', deviceCodeHash, decision, 'denied', '0', '')
  }

  /** One round trip: the CLAIM script. */
  async claim (deviceCodeHash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const key = this.grantKey(deviceCodeHash)
    const reply = await this.#send('claim', () => this.#scripts.claim(key, String(now))) as unknown[] | null
    return reply === null ? undefined : decodeRecord(pairsToHash(reply))
  }

  /**
   * One round trip: the HIT script. A fixed-window counter shared by every process on this
   * Redis, so the plugin's rate limits hold across instances.
   */
  async hit (key: string, window: CounterWindow): Promise<CounterHit> {
    checkCounterWindow(key, window)
    const resetAt = windowEnd(window)
    const counterKey = `${this.keyPrefix}c:{${window.windowMs}:${key}}:${resetAt}`
    const pexpireat = absoluteMs(resetAt + CLOCK_SKEW_GRACE_MS)
    const count = await this.#send('hit', () => this.#scripts.hit(counterKey, String(window.increment), pexpireat))
    return { count: Number(count), resetAt }
  }

  /** One round trip: the USE_ONCE script, on one key (cluster-safe). */
  async useOnce (key: string, use: OnceUse): Promise<boolean> {
    checkOnceUse(key, use)
    const usedKey = this.usedKey(key)
    const pxat = absoluteMs(use.expiresAt + CLOCK_SKEW_GRACE_MS)
    const won = await this.#send('useOnce', () => this.#scripts.useOnce(usedKey, String(use.now), String(use.expiresAt), pxat))
    return won === 1
  }

  /** A `useOnce` key: holds the `expiresAt` of the use that holds it. */
  usedKey (key: string): string {
    return `${this.keyPrefix}o:{${key}}`
  }

  /**
   * Nothing to release: the client is yours, and the store holds no timers between
   * operations. Quit the client yourself when you are done with it.
   */
  async close (): Promise<void> {}

  async #decide (op: string, deviceCodeHash: string, decision: Decision, status: string, scoped: string, grantedScope: string): Promise<boolean> {
    const key = this.grantKey(deviceCodeHash)
    const won = await this.#send(op, () => this.#scripts.decide(key, decision.subject, String(decision.now), status, scoped, grantedScope))
    return won === 1
  }

  /** One command under the deadline, in this turn's socket write. */
  #send<T>(op: string, command: () => Promise<T>): Promise<T> {
    this.#coalescer?.hold()
    return this.#deadlines.send(op, command)
  }

  /** Fire-and-forget rollback of a claimed user code; resolves the `false` the save returns. */
  #release (indexKey: string, indexValue: string): false {
    this.#scripts.releaseUserCode(indexKey, indexValue).catch(() => {
      // Redis is unreachable: the index expires with its TTL, and blocks only a code nobody got.
    })
    return false
  }
}

export function redisStore (options: RedisStoreOptions): RedisStore {
  return new RedisStore(options)
}
