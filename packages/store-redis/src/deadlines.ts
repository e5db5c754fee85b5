import { StoreUnavailableError } from '@device-grant/core'

/** An operation in flight, as the work itself sees it. */
export interface Deadline {
  /**
   * Set once the caller has heard `StoreUnavailableError`: whatever the operation writes from
   * then on, nobody is told about, so a multi-step operation undoes it.
   */
  readonly expired: boolean
}

interface Entry extends Deadline {
  readonly op: string
  /** A `performance.now()` time. */
  readonly at: number
  expired: boolean
  reject: (err: unknown) => void
}

function noop (): void {}

/**
 * Bounds every operation of a store by one timeout, whatever the client underneath does (an
 * offline queue, endless reconnects, a server that accepts and never answers): each operation
 * settles within `timeoutMs`, or rejects with `StoreUnavailableError`.
 *
 * The client is the user's, so the store cannot rely on its `commandTimeout` (unset by
 * default, and per command where `save` sends two). With one timeout for all, operations
 * expire in the order they started, so one timer armed for the oldest serves every operation
 * in flight: the poll path pays a Set insert and delete rather than a timer of its own.
 */
export class Deadlines {
  readonly timeoutMs: number
  readonly #failure: (op: string, err: unknown) => unknown
  readonly #prefix: string
  /** Oldest first, hence soonest deadline first. */
  readonly #inFlight = new Set<Entry>()
  #timer: NodeJS.Timeout | undefined

  /**
   * @param failure maps what the work rejected with to what the caller hears.
   * @param prefix starts the timeout's message (the store's name).
   */
  constructor (timeoutMs: number, failure: (op: string, err: unknown) => unknown, prefix: string) {
    this.timeoutMs = timeoutMs
    this.#failure = failure
    this.#prefix = prefix
  }

  /** Operations in flight. */
  get size (): number {
    return this.#inFlight.size
  }

  /** Runs a multi-step operation; `work` reads `deadline.expired` to undo what it wrote too late. */
  async run<T>(op: string, work: (deadline: Deadline) => Promise<T>): Promise<T> {
    const entry = this.#begin(op)
    return await this.#guard(entry, work(entry))
  }

  /** Runs one command. Not async: the hot path allocates no extra promise. */
  send<T>(op: string, command: () => Promise<T>): Promise<T> {
    const entry = this.#begin(op)
    let work: Promise<T>
    try {
      work = command()
    } catch (err) {
      work = Promise.reject(err)
    }
    return this.#guard(entry, work)
  }

  #begin (op: string): Entry {
    const entry: Entry = { op, at: performance.now() + this.timeoutMs, expired: false, reject: noop }
    this.#inFlight.add(entry)
    this.#timer ??= setTimeout(this.#expire, this.timeoutMs)
    return entry
  }

  #guard<T>(entry: Entry, work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      entry.reject = reject
      work.then(
        (value) => { this.#done(entry); resolve(value) },
        (err: unknown) => { this.#done(entry); reject(this.#failure(entry.op, err)) }
      )
    })
  }

  #done (entry: Entry): void {
    this.#inFlight.delete(entry)
    if (this.#inFlight.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  /** Rejects every operation past its deadline, then re-arms for the oldest one left. */
  readonly #expire = (): void => {
    this.#timer = undefined
    const now = performance.now()
    for (const entry of this.#inFlight) {
      if (entry.at > now) {
        this.#timer = setTimeout(this.#expire, entry.at - now)
        return
      }
      this.#inFlight.delete(entry)
      entry.expired = true
      entry.reject(new StoreUnavailableError(`${this.#prefix}: ${entry.op} got no answer within ${this.timeoutMs} ms`))
    }
  }
}
