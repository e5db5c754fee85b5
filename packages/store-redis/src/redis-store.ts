import { createHash } from 'node:crypto'
// The real one, not a test's fake timers: a faked setImmediate would never flush a corked socket.
import { setImmediate } from 'node:timers'
import {
  StoreUnavailableError,
  type Approval,
  type CounterHit,
  type Decision,
  type DeviceGrantRecord,
  type DeviceGrantStore,
  type GrantStatus,
  type PolledGrant,
  type PollInput,
  type PollResult,
  type StoreCapabilities
} from '@device-grant/core'
import type { Cluster, Redis } from 'ioredis'
import { decodeRecord, encodeRecord, pairsToHash } from './codec.js'
import {
  BIND_SUBJECT,
  CLAIM,
  CLAIM_USER_CODE,
  DECIDE,
  HIT,
  RECORD_POLL,
  RELEASE_USER_CODE,
  SAVE_RECORD
} from './scripts.js'

export interface RedisStoreOptions {
  /**
   * Your ioredis client (`Redis` or `Cluster`). The store defines its scripts on it and never
   * connects, quits or listens to it: its lifecycle stays yours.
   */
  client: Redis | Cluster
  /** Prepended to every key. Must not contain `{` or `}` (they would break the hash tags). Default `'device-grant:'`. */
  keyPrefix?: string
  /**
   * Seconds a grant's keys outlive its `expiresAt`, so a late poll still hears `expired_token`
   * rather than `invalid_grant`. Default 600.
   */
  retention?: number
  /** Milliseconds after which an operation rejects with `StoreUnavailableError`. Default 2000. */
  operationTimeout?: number
  /**
   * With a single `Redis` client, the commands the store sends in one turn of the event loop
   * leave in one socket write: the store corks the client's socket and uncorks it in
   * `setImmediate`. Under load many polls arrive per turn, and a write per command (and the
   * wake-up of Redis for each) was the largest cost of a poll. Order and replies are unchanged;
   * commands of your own sent in that turn leave with them. No effect on a `Cluster` (use its
   * `enableAutoPipelining` there). Default `true`.
   */
  coalesceWrites?: boolean
}

/** The client's socket, where there is exactly one (`Redis`, not `Cluster`). */
interface Corkable { cork: () => void, uncork: () => void }

function corkable (stream: unknown): stream is Corkable {
  return typeof (stream as Partial<Corkable> | undefined)?.cork === 'function' &&
    typeof (stream as Partial<Corkable>).uncork === 'function'
}

type ScriptName = 'claimUserCode' | 'releaseUserCode' | 'saveRecord' | 'recordPoll' | 'bindSubject' | 'decide' | 'claim' | 'hit'
type Script = (key: string, ...args: string[]) => Promise<unknown>

const SCRIPTS: Record<ScriptName, string> = {
  claimUserCode: CLAIM_USER_CODE,
  releaseUserCode: RELEASE_USER_CODE,
  saveRecord: SAVE_RECORD,
  recordPoll: RECORD_POLL,
  bindSubject: BIND_SUBJECT,
  decide: DECIDE,
  claim: CLAIM,
  hit: HIT
}

/**
 * How long a counter outlives its window. Its key names the window, so keeping it longer
 * changes no count; it only absorbs clock skew between the app servers and Redis.
 */
const COUNTER_GRACE_MS = 60_000

/**
 * Reply errors that mean "this node cannot serve you right now" (loading, failover, busy
 * script, out of memory) rather than "this request is wrong": they become
 * `StoreUnavailableError` like a lost connection. Any other reply error is a bug or a
 * misconfiguration (WRONGTYPE on a foreign key, a Lua error) and is rethrown as it is.
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM)\b/

/** An operation in flight. Its deadline is `at` (a `performance.now()` time). */
interface Deadline {
  readonly op: string
  readonly at: number
  /** Set once the caller has heard `StoreUnavailableError`: what the operation did since must be undone. */
  expired: boolean
  reject: (err: unknown) => void
}

function noop (): void {}

/**
 * Grants in Redis: one hash per grant, keyed by device-code hash, plus a user-code index.
 * Every operation but `save` and `findByUserCode` is a single round trip; every transition
 * is a Lua script that checks and writes atomically. See the README for the key layout.
 */
export class RedisStore implements DeviceGrantStore {
  readonly capabilities: StoreCapabilities = { sharedAcrossProcesses: true, supportsCluster: true }
  readonly keyPrefix: string
  readonly #client: Redis | Cluster
  readonly #retentionMs: number
  readonly #timeoutMs: number
  readonly #scripts: Record<ScriptName, Script>
  /** Operations in flight, oldest first: with one timeout for all, also soonest deadline first. */
  readonly #inFlight = new Set<Deadline>()
  /** One timer for every operation in flight, armed for the oldest one's deadline. */
  #watchdog: NodeJS.Timeout | undefined
  readonly #coalesce: boolean
  /** The socket corked in this turn of the event loop, until its `setImmediate`. */
  #corked: Corkable | undefined

  constructor (options: RedisStoreOptions) {
    const { client } = options ?? {}
    if (client === null || typeof client !== 'object' || typeof client.defineCommand !== 'function') {
      throw new TypeError('client must be an ioredis Redis or Cluster instance')
    }
    const keyPrefix = options.keyPrefix ?? 'device-grant:'
    const retention = options.retention ?? 600
    const operationTimeout = options.operationTimeout ?? 2000
    const coalesceWrites = options.coalesceWrites ?? true
    if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) throw new TypeError('keyPrefix must be a string without { or }')
    if (!(Number.isFinite(retention) && retention >= 0)) throw new TypeError('retention must be a number of seconds >= 0')
    if (!(Number.isFinite(operationTimeout) && operationTimeout > 0)) throw new TypeError('operationTimeout must be a number of milliseconds > 0')
    this.#client = client
    this.keyPrefix = keyPrefix
    this.#retentionMs = retention * 1000
    this.#timeoutMs = operationTimeout
    if (typeof coalesceWrites !== 'boolean') throw new TypeError('coalesceWrites must be a boolean')
    this.#coalesce = coalesceWrites
    this.#scripts = defineScripts(client)
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
    // PXAT takes whole milliseconds; rounding up never drops a key early.
    const pxat = String(Math.ceil(grant.expiresAt + this.#retentionMs))
    return await this.#run('save', async (deadline) => {
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
    const hash = await this.#send('findByDeviceCodeHash', () => this.#client.hgetall(key))
    return decodeRecord(hash)
  }

  /** Two round trips: GET the index, then HGETALL the record (another slot on a cluster). */
  async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
    const indexKey = this.userCodeKey(userCode)
    const hash = await this.#run('findByUserCode', async () => {
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
    )) as [number, GrantStatus, string, string, string, string | null] | null
    if (reply === null) return undefined
    const [slowDown, status, expiresAt, interval, clientId, lastPolledAt] = reply
    const grant: PolledGrant = { clientId, status, expiresAt: Number(expiresAt), interval: Number(interval) }
    if (lastPolledAt !== null) grant.lastPolledAt = Number(lastPolledAt)
    return { grant, slowDown: slowDown === 1 }
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
  async hit (key: string, window: { windowMs: number, now: number, increment: number }): Promise<CounterHit> {
    const { windowMs, now, increment } = window
    if (!(Number.isFinite(windowMs) && windowMs > 0)) throw new TypeError('windowMs must be a number of milliseconds > 0')
    if (!(Number.isSafeInteger(increment) && increment >= 0)) throw new TypeError('increment must be an integer >= 0')
    const resetAt = (Math.floor(now / windowMs) + 1) * windowMs
    const counterKey = `${this.keyPrefix}c:{${windowMs}:${key}}:${resetAt}`
    const count = await this.#send('hit', () => this.#scripts.hit(counterKey, String(increment), String(Math.ceil(resetAt + COUNTER_GRACE_MS))))
    return { count: Number(count), resetAt }
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

  /** Fire-and-forget rollback of a claimed user code; resolves the `false` the save returns. */
  #release (indexKey: string, indexValue: string): false {
    this.#scripts.releaseUserCode(indexKey, indexValue).catch(() => {
      // Redis is unreachable: the index expires with its TTL, and blocks only a code nobody got.
    })
    return false
  }

  /**
   * Runs a multi-step operation under the store's own deadline; `work` reads `deadline.expired`
   * to undo what it wrote after the caller gave up.
   */
  async #run<T>(op: string, work: (deadline: Deadline) => Promise<T>): Promise<T> {
    const deadline = this.#begin(op)
    return await this.#guard(deadline, work(deadline))
  }

  /** Runs one command under the store's own deadline. */
  #send<T>(op: string, command: () => Promise<T>): Promise<T> {
    const deadline = this.#begin(op)
    let work: Promise<T>
    try {
      work = command()
    } catch (err) {
      work = Promise.reject(err)
    }
    return this.#guard(deadline, work)
  }

  /** Also corks the socket for this turn, before the operation writes anything. */
  #begin (op: string): Deadline {
    if (this.#coalesce && this.#corked === undefined) this.#cork()
    const deadline: Deadline = { op, at: performance.now() + this.#timeoutMs, expired: false, reject: noop }
    this.#inFlight.add(deadline)
    this.#watchdog ??= setTimeout(this.#expire, this.#timeoutMs)
    return deadline
  }

  /**
   * Whatever the client's settings (an offline queue, endless reconnects), an operation never
   * holds a request past the deadline, and client failures become `StoreUnavailableError`.
   * One watchdog timer serves every operation in flight, rather than a timer, a `Promise.race`
   * and their promises for each command on the poll path.
   */
  #guard<T>(deadline: Deadline, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      deadline.reject = reject
      work.then(
        (value) => { this.#done(deadline); resolve(value) },
        (err: unknown) => { this.#done(deadline); reject(unavailable(deadline.op, err)) }
      )
    })
  }

  #cork (): void {
    const stream = (this.#client as { stream?: unknown }).stream
    if (!corkable(stream)) return
    stream.cork()
    this.#corked = stream
    setImmediate(this.#uncork)
  }

  readonly #uncork = (): void => {
    const stream = this.#corked
    this.#corked = undefined
    stream?.uncork()
  }

  #done (deadline: Deadline): void {
    this.#inFlight.delete(deadline)
    if (this.#inFlight.size === 0 && this.#watchdog !== undefined) {
      clearTimeout(this.#watchdog)
      this.#watchdog = undefined
    }
  }

  /** Rejects every operation past its deadline, then re-arms for the oldest one left. */
  readonly #expire = (): void => {
    this.#watchdog = undefined
    const now = performance.now()
    for (const deadline of this.#inFlight) {
      if (deadline.at > now) {
        this.#watchdog = setTimeout(this.#expire, deadline.at - now)
        return
      }
      this.#inFlight.delete(deadline)
      deadline.expired = true
      deadline.reject(new StoreUnavailableError(`Redis store: ${deadline.op} got no answer within ${this.#timeoutMs} ms`))
    }
  }
}

export function redisStore (options: RedisStoreOptions): RedisStore {
  return new RedisStore(options)
}

function unavailable (op: string, err: unknown): unknown {
  if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return err
  const message = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`Redis store: ${op} failed: ${message}`, { cause: err })
}

/**
 * Defines the scripts on the user's client. The names carry the script's SHA, so two versions
 * of this package sharing one client never overwrite each other's scripts, and a second store
 * on the same client reuses the first one's definitions.
 */
function defineScripts (client: Redis | Cluster): Record<ScriptName, Script> {
  const commands = client as unknown as Record<string, Script>
  const scripts = {} as Record<ScriptName, Script>
  for (const [name, lua] of Object.entries(SCRIPTS) as Array<[ScriptName, string]>) {
    const command = `deviceGrant_${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 12)}`
    if (typeof commands[command] !== 'function') client.defineCommand(command, { numberOfKeys: 1, lua })
    const run = commands[command]!
    scripts[name] = async (key, ...args) => await run.call(client, key, ...args)
  }
  return scripts
}
