import type { Approval, CounterHit, CounterWindow, Decision, DeviceGrantRecord, OnceUse, PollBookkeeping, PollResult } from '@device-grant/core'
import { ReferenceStore, newBackend } from './reference-store.js'

/** Lets every other pending call run: what a network round trip does between a read and a write. */
const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

export interface Mutant {
  /** The rule the mutant breaks. */
  bug: string
  make: () => ReferenceStore
  /** Cases that must fail against it (a suffix of the test name). */
  caught: string[]
}

/**
 * Like one client connection that runs its own calls one at a time: atomic as long as a single
 * store is used, racy as soon as two share the backend.
 */
class SerializedRacyClaim extends ReferenceStore {
  #queue: Promise<unknown> = Promise.resolve()

  override async claim (hash: string, now: number): Promise<DeviceGrantRecord | undefined> {
    const run = this.#queue.then(async () => {
      const record = await this.findByDeviceCodeHash(hash)
      if (record === undefined || record.status !== 'approved' || !this.isLive(record, now)) return undefined
      await tick()
      this.raw(hash)!.status = 'consumed'
      return record
    })
    this.#queue = run
    return await run
  }
}

/** A `useOnce` that checks, then writes a round trip later. */
class RacyOnce extends ReferenceStore {
  override async useOnce (key: string, use: OnceUse): Promise<boolean> {
    const until = this.usedUntil(key)
    await tick()
    if (until !== undefined && use.now < until) return false
    this.backend.used.set(key, use.expiresAt)
    return true
  }
}

/** The same one caller at a time per store, like `SerializedRacyClaim`. */
class SerializedRacyOnce extends RacyOnce {
  #queue: Promise<unknown> = Promise.resolve()

  override async useOnce (key: string, use: OnceUse): Promise<boolean> {
    const run = this.#queue.then(async () => await super.useOnce(key, use))
    this.#queue = run
    return await run
  }
}

const sharedBackend = newBackend()

export const mutants: Mutant[] = [
  {
    bug: 'findByUserCode returns the stored object',
    make: () => new class extends ReferenceStore {
      override async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
        const hash = this.backend.byUserCode.get(userCode)
        return hash === undefined ? undefined : this.raw(hash)
      }
    }(),
    caught: ['returned records are copies']
  },
  {
    bug: 'findByDeviceCodeHash returns the stored object',
    make: () => new class extends ReferenceStore {
      override async findByDeviceCodeHash (hash: string): Promise<DeviceGrantRecord | undefined> { return this.raw(hash) }
    }(),
    caught: ['findByDeviceCodeHash finds what findByUserCode finds, as a copy']
  },
  {
    bug: 'dpopJkt is dropped',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord { return { ...record, dpopJkt: undefined } }
    }(),
    caught: [
      'save and find round-trip every field',
      'claim gives the winner the record as approved and consumes it',
      'findByDeviceCodeHash finds what findByUserCode finds, as a copy'
    ]
  },
  {
    bug: 'save keeps the caller\'s object',
    make: () => new class extends ReferenceStore {
      override async save (grant: DeviceGrantRecord): Promise<boolean> { this.put(grant); return true }
    }(),
    caught: ['the record passed to save is not kept by reference']
  },
  {
    bug: 'absent optional fields come back as null',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord {
        return { lastPolledAt: null, subject: null, grantedScope: null, decidedAt: null, ip: null, userAgent: null, dpopJkt: null, ...record } as unknown as DeviceGrantRecord
      }
    }(),
    caught: ['optional fields stay absent when not set']
  },
  {
    bug: 'times come back as strings (a BIGINT column read raw)',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord {
        return { ...record, createdAt: String(record.createdAt) } as unknown as DeviceGrantRecord
      }
    }(),
    caught: ['save and find round-trip every field']
  },
  {
    bug: 'an extra column leaks into records',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord {
        return { ...record, id: 1 } as unknown as DeviceGrantRecord
      }
    }(),
    caught: ['save and find round-trip every field']
  },
  {
    bug: 'user agents are cut at 255 characters',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord {
        return record.userAgent === undefined ? { ...record } : { ...record, userAgent: record.userAgent.slice(0, 255) }
      }
    }(),
    caught: ['large values round-trip']
  },
  {
    bug: 'subjects lose their non-ASCII characters',
    make: () => new class extends ReferenceStore {
      protected override copy (record: DeviceGrantRecord): DeviceGrantRecord {
        // eslint-disable-next-line no-control-regex
        return record.subject === undefined ? { ...record } : { ...record, subject: record.subject.replace(/[^\x00-\x7f]/g, '?') }
      }
    }(),
    caught: ['unicode and punctuation round-trip']
  },
  {
    bug: 'an unknown user code finds some record',
    make: () => new class extends ReferenceStore {
      override async findByUserCode (userCode: string): Promise<DeviceGrantRecord | undefined> {
        const first = this.backend.byHash.values().next().value
        return (await super.findByUserCode(userCode)) ?? (first === undefined ? undefined : { ...first })
      }
    }(),
    caught: ['a lookup of an unknown user code resolves undefined']
  },
  {
    bug: 'save never refuses a user code',
    make: () => new class extends ReferenceStore {
      protected override userCodeTaken (): boolean { return false }
    }(),
    caught: ['save refuses a user code held by a live record and writes nothing', 'parallel saves of one user code have exactly one winner']
  },
  {
    bug: 'an expired holder still blocks its user code',
    make: () => new class extends ReferenceStore {
      protected override userCodeTaken (): boolean { return true }
    }(),
    caught: ['save accepts a user code whose holder has expired']
  },
  {
    bug: 'save checks the user code, then writes a round trip later',
    make: () => new class extends ReferenceStore {
      override async save (grant: DeviceGrantRecord): Promise<boolean> {
        const taken = (await this.findByUserCode(grant.userCode)) !== undefined
        await tick()
        if (taken) return false
        this.put({ ...grant })
        return true
      }
    }(),
    caught: ['parallel saves of one user code have exactly one winner']
  },
  {
    bug: 'the first poll is measured from createdAt',
    make: () => new class extends ReferenceStore {
      protected override tooFast (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return poll.now - (record.lastPolledAt ?? record.createdAt) < record.interval * 1000 - poll.leewayMs
      }
    }(),
    caught: ['the first poll sets lastPolledAt and is not slow_down']
  },
  {
    bug: 'the leeway boundary is exclusive',
    make: () => new class extends ReferenceStore {
      protected override tooFast (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return record.lastPolledAt !== undefined && poll.now - record.lastPolledAt <= record.interval * 1000 - poll.leewayMs
      }
    }(),
    caught: ['a poll within the leeway is on time']
  },
  {
    bug: 'the leeway is ignored',
    make: () => new class extends ReferenceStore {
      protected override tooFast (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return record.lastPolledAt !== undefined && poll.now - record.lastPolledAt < record.interval * 1000
      }
    }(),
    caught: ['a poll within the leeway is on time']
  },
  {
    bug: 'slow_down never happens',
    make: () => new class extends ReferenceStore {
      protected override tooFast (): boolean { return false }
    }(),
    caught: ['a poll earlier than interval minus leeway is slow_down', 'after slow_down, a client that waits the new interval is on time again']
  },
  {
    bug: 'a too-fast poll moves the baseline',
    make: () => new class extends ReferenceStore {
      override async recordPoll (hash: string, poll: PollBookkeeping): Promise<PollResult | undefined> {
        const result = await super.recordPoll(hash, poll)
        const record = this.raw(hash)
        if (result?.slowDown === true && record !== undefined) record.lastPolledAt = poll.now
        return result === undefined ? undefined : { ...result, grant: { ...record! } }
      }
    }(),
    caught: ['a poll earlier than interval minus leeway is slow_down', 'polls that stay too fast keep growing the interval from the same baseline']
  },
  {
    bug: 'polls by another client count',
    make: () => new class extends ReferenceStore {
      protected override pollCounts (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return record.status === 'pending' && this.isLive(record, poll.now)
      }
    }(),
    caught: ['recordPoll does no bookkeeping for another client']
  },
  {
    bug: 'polls count after expiry',
    make: () => new class extends ReferenceStore {
      protected override pollCounts (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return record.status === 'pending' && record.clientId === poll.clientId
      }
    }(),
    caught: ['recordPoll does no bookkeeping once expired']
  },
  {
    bug: 'polls count whatever the status',
    make: () => new class extends ReferenceStore {
      protected override pollCounts (record: DeviceGrantRecord, poll: PollBookkeeping): boolean {
        return this.isLive(record, poll.now) && record.clientId === poll.clientId
      }
    }(),
    caught: ['recordPoll does no bookkeeping on an approved grant', 'recordPoll does no bookkeeping on a denied grant', 'recordPoll does no bookkeeping on a consumed grant']
  },
  {
    bug: 'recordPoll reads, then writes the whole record back a round trip later',
    make: () => new class extends ReferenceStore {
      override async recordPoll (hash: string, poll: PollBookkeeping): Promise<PollResult | undefined> {
        const record = await this.findByDeviceCodeHash(hash)
        if (record === undefined) return undefined
        await tick()
        let slowDown = false
        if (this.pollCounts(record, poll)) {
          slowDown = this.tooFast(record, poll)
          if (slowDown) record.interval += poll.slowDownStep
          else record.lastPolledAt = poll.now
          this.put({ ...record })
        }
        return { grant: record, slowDown }
      }
    }(),
    caught: ['polls interleaved with an approve leave a consistent approved record']
  },
  {
    bug: 'a grant is live through expiresAt',
    make: () => new class extends ReferenceStore {
      protected override isLive (record: DeviceGrantRecord, now: number): boolean { return now <= record.expiresAt }
    }(),
    caught: [
      'recordPoll does no bookkeeping once expired',
      'bindSubject is false once expired',
      'approve and deny lose once expired',
      'claim resolves undefined once expired'
    ]
  },
  {
    bug: 'a grant expires a millisecond early',
    make: () => new class extends ReferenceStore {
      protected override isLive (record: DeviceGrantRecord, now: number): boolean { return now < record.expiresAt - 1 }
    }(),
    caught: ['a grant is live until one millisecond before expiresAt']
  },
  {
    bug: 'bindSubject rebinds to whoever asks',
    make: () => new class extends ReferenceStore {
      override async bindSubject (hash: string, decision: Decision): Promise<boolean> {
        const record = this.raw(hash)
        if (record === undefined || record.status !== 'pending' || !this.isLive(record, decision.now)) return false
        record.subject = decision.subject
        return true
      }
    }(),
    caught: ['bindSubject with another subject is false and keeps the first']
  },
  {
    bug: 'bindSubject answers true for a decided grant of the same subject',
    make: () => new class extends ReferenceStore {
      override async bindSubject (hash: string, decision: Decision): Promise<boolean> {
        return this.raw(hash)?.subject === decision.subject || await super.bindSubject(hash, decision)
      }
    }(),
    caught: ['bindSubject is false once the grant is decided']
  },
  {
    bug: 'a decision ignores the bound subject',
    make: () => new class extends ReferenceStore {
      protected override mayDecide (record: DeviceGrantRecord, decision: Decision): boolean {
        return record.status === 'pending' && this.isLive(record, decision.now)
      }
    }(),
    caught: ['approve and deny lose when the grant is bound to another subject']
  },
  {
    bug: 'a decision may replace an earlier one',
    make: () => new class extends ReferenceStore {
      protected override mayDecide (record: DeviceGrantRecord, decision: Decision): boolean {
        return record.status !== 'consumed' && this.isLive(record, decision.now)
      }
    }(),
    caught: ['approve wins only once', 'deny loses once the grant is approved', 'deny wins only once', 'approve loses once the grant is denied']
  },
  {
    bug: 'approve and deny check, then write a round trip later',
    make: () => new class extends ReferenceStore {
      override async approve (hash: string, approval: Approval): Promise<boolean> {
        return await this.#racy(hash, approval, { status: 'approved', grantedScope: approval.grantedScope })
      }

      override async deny (hash: string, decision: Decision): Promise<boolean> {
        return await this.#racy(hash, decision, { status: 'denied' })
      }

      async #racy (hash: string, decision: Decision, change: Partial<DeviceGrantRecord>): Promise<boolean> {
        const record = await this.findByDeviceCodeHash(hash)
        if (record === undefined || !this.mayDecide(record, decision)) return false
        await tick()
        Object.assign(this.raw(hash)!, { ...change, subject: decision.subject, decidedAt: decision.now })
        return true
      }
    }(),
    caught: ['parallel approves and denies have exactly one winner']
  },
  {
    bug: 'approve without grantedScope stores an empty one',
    make: () => new class extends ReferenceStore {
      override async approve (hash: string, approval: Approval): Promise<boolean> {
        return await super.approve(hash, { ...approval, grantedScope: approval.grantedScope ?? '' })
      }
    }(),
    caught: ['approve without grantedScope leaves grantedScope absent']
  },
  {
    bug: 'claim returns the record after the write',
    make: () => new class extends ReferenceStore {
      override async claim (hash: string, now: number): Promise<DeviceGrantRecord | undefined> {
        return (await super.claim(hash, now)) === undefined ? undefined : await this.findByDeviceCodeHash(hash)
      }
    }(),
    caught: ['claim gives the winner the record as approved and consumes it']
  },
  {
    bug: 'claim wins on a consumed grant too',
    make: () => new class extends ReferenceStore {
      override async claim (hash: string, now: number): Promise<DeviceGrantRecord | undefined> {
        const record = this.raw(hash)
        if (record?.status === 'consumed' && this.isLive(record, now)) return { ...record, status: 'approved' }
        return await super.claim(hash, now)
      }
    }(),
    caught: ['a second claim resolves undefined', 'parallel claims of one approved grant have exactly one winner']
  },
  {
    bug: 'claim wins on a pending or denied grant',
    make: () => new class extends ReferenceStore {
      override async claim (hash: string, now: number): Promise<DeviceGrantRecord | undefined> {
        const record = this.raw(hash)
        if (record === undefined || record.status === 'consumed' || !this.isLive(record, now)) return undefined
        const before = { ...record }
        record.status = 'consumed'
        return before
      }
    }(),
    caught: ['claim resolves undefined while pending', 'claim resolves undefined for a denied grant']
  },
  {
    bug: 'claim checks, then writes a round trip later',
    make: () => new class extends ReferenceStore {
      override async claim (hash: string, now: number): Promise<DeviceGrantRecord | undefined> {
        const record = await this.findByDeviceCodeHash(hash)
        if (record === undefined || record.status !== 'approved' || !this.isLive(record, now)) return undefined
        await tick()
        this.raw(hash)!.status = 'consumed'
        return record
      }
    }(),
    caught: ['parallel claims of one approved grant have exactly one winner']
  },
  {
    bug: 'deleteExpired keeps records expiring exactly now',
    make: () => new class extends ReferenceStore {
      override async deleteExpired (now: number): Promise<number> { return await super.deleteExpired(now - 1) }
    }(),
    caught: ['deleteExpired drops records with expiresAt <= now and counts them']
  },
  {
    bug: 'deleteExpired miscounts',
    make: () => new class extends ReferenceStore {
      override async deleteExpired (now: number): Promise<number> { return (await super.deleteExpired(now)) + 1 }
    }(),
    caught: ['deleteExpired drops records with expiresAt <= now and counts them']
  },
  {
    bug: 'hit counts every key together',
    make: () => new class extends ReferenceStore {
      override async hit (_key: string, window: CounterWindow): Promise<CounterHit> { return await super.hit('all', window) }
    }(),
    caught: ['hit counts per key within a window']
  },
  {
    bug: 'hit counts one even when asked only to read',
    make: () => new class extends ReferenceStore {
      override async hit (key: string, window: CounterWindow): Promise<CounterHit> {
        return await super.hit(key, { ...window, increment: Math.max(1, window.increment) })
      }
    }(),
    caught: ['hit with increment 0 only reads']
  },
  {
    bug: 'hit windows start at the first hit instead of at multiples of windowMs',
    make: () => new class extends ReferenceStore {
      readonly #starts = new Map<string, number>()
      protected override windowEnd (now: number, windowMs: number): number {
        const key = String(windowMs)
        const start = this.#starts.get(key)
        if (start === undefined || now >= start + windowMs) this.#starts.set(key, now)
        return (this.#starts.get(key) ?? now) + windowMs
      }
    }(),
    caught: ['hit counts per key within a window', 'hit starts a new window at each multiple of windowMs']
  },
  {
    bug: 'hit reads the count, then writes it a round trip later',
    make: () => new class extends ReferenceStore {
      override async hit (key: string, window: CounterWindow): Promise<CounterHit> {
        const current = await super.hit(key, { ...window, increment: 0 })
        await tick()
        const next = { count: current.count + window.increment, resetAt: current.resetAt }
        this.backend.counters.set(`${window.windowMs}:${key}`, next)
        return { ...next }
      }
    }(),
    caught: ['parallel hits on one key are all counted', 'parallel hits then as many parallel refunds on one key come back to 0']
  },
  {
    bug: 'a refund takes the count below 0',
    make: () => new class extends ReferenceStore {
      protected override floor (count: number): number { return count }
    }(),
    caught: ['hit with a negative increment refunds, never below 0', 'a refund in a later window does not go negative']
  },
  {
    bug: 'hit does not check its arguments',
    make: () => new class extends ReferenceStore {
      override async hit (key: string, window: CounterWindow): Promise<CounterHit> {
        const resetAt = window?.windowMs > 0 ? this.windowEnd(window.now, window.windowMs) : 0
        return { count: 1, resetAt }
      }
    }(),
    caught: ['hit rejects bad arguments with a TypeError']
  },
  {
    bug: 'useOnce always answers true',
    make: () => new class extends ReferenceStore {
      override async useOnce (): Promise<boolean> { return true }
    }(),
    caught: [
      'useOnce is true the first time and false while the use is live',
      'useOnce keys are independent',
      'parallel useOnce calls with one key have exactly one winner'
    ]
  },
  {
    bug: 'a used key stays used after its use expired',
    make: () => new class extends ReferenceStore {
      protected override usedUntil (key: string): number | undefined {
        return super.usedUntil(key) === undefined ? undefined : Number.POSITIVE_INFINITY
      }
    }(),
    caught: ['useOnce is true again once the earlier use has expired']
  },
  {
    bug: 'useOnce keys share one entry',
    make: () => new class extends ReferenceStore {
      override async useOnce (_key: string, use: OnceUse): Promise<boolean> { return await super.useOnce('all', use) }
    }(),
    caught: ['useOnce keys are independent']
  },
  {
    bug: 'useOnce checks, then writes a round trip later',
    make: () => new RacyOnce(),
    caught: ['parallel useOnce calls with one key have exactly one winner']
  },
  {
    bug: 'useOnce does not check its arguments',
    make: () => new class extends ReferenceStore {
      override async useOnce (key: string, use: OnceUse): Promise<boolean> {
        if (use === null) return false
        const until = this.usedUntil(key)
        if (until !== undefined && use.now < until) return false
        this.backend.used.set(key, use.expiresAt)
        return true
      }
    }(),
    caught: ['useOnce rejects bad arguments with a TypeError']
  },
  {
    bug: 'stores that say they are shared keep separate state',
    make: () => new ReferenceStore(newBackend()),
    caught: ['a grant saved through one store is decided through another']
  },
  {
    bug: 'claim is atomic within one store but not across stores on one backend',
    make: () => new SerializedRacyClaim(sharedBackend),
    caught: ['parallel claims through several stores have exactly one winner']
  },
  {
    bug: 'useOnce is atomic within one store but not across stores on one backend',
    make: () => new SerializedRacyOnce(sharedBackend),
    caught: ['parallel useOnce calls through several stores have exactly one winner']
  }
]
