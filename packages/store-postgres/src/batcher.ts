// The real one, not a test's fake timers: a faked setImmediate would never send a batch.
import { setImmediate } from 'node:timers'

/** How a batcher sends calls: alone, or several in one statement. */
export interface BatchSender<C, R> {
  /** Sends one call in its own statement. */
  one: (call: C) => PromiseLike<R>
  /** Sends calls with distinct keys in one statement; resolves their results in the same order. */
  many: (calls: C[]) => PromiseLike<R[]>
  /** Calls with one key never share a statement (two polls of one grant must be two polls). */
  key: (call: C) => string
  /**
   * Whether a failed `many` is worth each call's own statement: anything but a lost
   * connection, so one call's bad input (or a deadlock) never fails the calls beside it.
   */
  retryAlone: (error: unknown) => boolean
  /** The store's operation deadline, in ms: a call still queued when it passes is dropped (its caller has had its error). */
  timeoutMs: number
}

interface Queued<C, R> {
  call: C
  expiresAt: number
  resolve: (result: R) => void
  reject: (error: unknown) => void
}

/**
 * Statements of one kind in flight at once. One makes the largest batches: measured over HTTP
 * (bench/README.md), 1 in flight beat 2 and 4 by 15-30 % on polls and saves.
 */
const MAX_IN_FLIGHT = 1
/** Calls per statement at most: bounds a statement's parameters and the rows it locks. */
const MAX_SIZE = 256
/**
 * A statement unanswered this long (ms) stops holding up the calls behind it: a batch waits
 * a millisecond or two when all is well, so one this late is stuck (a row lock held elsewhere, a
 * connection gone silent) and the next batch goes beside it.
 */
const STALLED_MS = 100

/**
 * Sends the calls of one event-loop turn in one statement. Under load many requests arrive per
 * turn; sent one by one, each is a round trip, a transaction and a commit, and most of the
 * client's and the database's CPU goes to that per-statement work, not to the rows. Calls wait
 * at most for the turn to end, or for a batch in flight to come back: a call made alone is sent
 * alone, in the statement it always had. Results, errors and deadlines stay each call's own.
 */
export class Batcher<C, R> {
  readonly #sender: BatchSender<C, R>
  #queue: Array<Queued<C, R>> = []
  #inFlight = 0
  #scheduled = false

  constructor (sender: BatchSender<C, R>) {
    this.#sender = sender
  }

  add (call: C): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ call, expiresAt: Date.now() + this.#sender.timeoutMs, resolve, reject })
      this.#schedule()
    })
  }

  #schedule (): void {
    if (this.#scheduled || this.#inFlight >= MAX_IN_FLIGHT || this.#queue.length === 0) return
    this.#scheduled = true
    setImmediate(this.#flush)
  }

  readonly #flush = (): void => {
    this.#scheduled = false
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) {
      const batch = this.#take()
      if (batch.length === 0) return
      this.#inFlight++
      let done = false
      const release = (): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.#inFlight--
        this.#schedule()
      }
      const timer = setTimeout(release, Math.min(STALLED_MS, this.#sender.timeoutMs))
      timer.unref()
      this.#send(batch).finally(release)
    }
  }

  /**
   * Up to MAX_SIZE queued calls with distinct keys, in order; the rest stay queued, in order.
   * Calls past their deadline are dropped: their callers already have their error.
   */
  #take (): Array<Queued<C, R>> {
    const batch: Array<Queued<C, R>> = []
    const rest: Array<Queued<C, R>> = []
    const keys = new Set<string>()
    const now = Date.now()
    for (const queued of this.#queue) {
      if (queued.expiresAt <= now) {
        queued.reject(new Error('dropped from the batch queue at its deadline'))
        continue
      }
      const key = this.#sender.key(queued.call)
      if (batch.length < MAX_SIZE && !keys.has(key)) {
        keys.add(key)
        batch.push(queued)
      } else {
        rest.push(queued)
      }
    }
    this.#queue = rest
    return batch
  }

  async #send (batch: Array<Queued<C, R>>): Promise<void> {
    if (batch.length === 1) return await this.#alone(batch[0] as Queued<C, R>)
    let results: R[]
    try {
      results = await this.#sender.many(batch.map((queued) => queued.call))
    } catch (err) {
      if (!this.#sender.retryAlone(err)) {
        for (const queued of batch) queued.reject(err)
        return
      }
      await Promise.all(batch.map(async (queued) => { await this.#alone(queued) }))
      return
    }
    batch.forEach((queued, i) => { queued.resolve(results[i] as R) })
  }

  async #alone (queued: Queued<C, R>): Promise<void> {
    try {
      queued.resolve(await this.#sender.one(queued.call))
    } catch (err) {
      queued.reject(err)
    }
  }
}
