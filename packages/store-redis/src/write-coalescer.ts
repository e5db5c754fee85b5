// The real one, not a test's fake timers: a faked setImmediate would never flush a corked socket.
import { setImmediate } from 'node:timers'

/** A writable socket, as far as corking goes. */
interface Corkable { cork: () => void, uncork: () => void }

function corkable (stream: unknown): stream is Corkable {
  return typeof (stream as Partial<Corkable> | undefined)?.cork === 'function' &&
    typeof (stream as Partial<Corkable>).uncork === 'function'
}

/**
 * Sends the commands of one event-loop turn in one socket write. Under load many requests
 * arrive per turn; written one by one, each command is a system call on the client's socket
 * and a wake-up of Redis. Corked until `setImmediate`, they leave in one `writev`, and Redis
 * reads and answers them together. Order and replies are unchanged.
 *
 * It corks `client.stream`, the one socket of an ioredis `Redis` (read on every turn: ioredis
 * replaces it on reconnect). A `Cluster` has no such socket and is left alone.
 */
export class WriteCoalescer {
  readonly #client: object
  /** The socket corked in this turn, until its `setImmediate`. */
  #corked: Corkable | undefined

  constructor (client: object) {
    this.#client = client
  }

  /** Call before writing: the first call of a turn corks the socket until the turn ends. */
  hold (): void {
    if (this.#corked !== undefined) return
    const stream = (this.#client as { stream?: unknown }).stream
    if (!corkable(stream)) return
    stream.cork()
    this.#corked = stream
    setImmediate(this.#release)
  }

  readonly #release = (): void => {
    const stream = this.#corked
    this.#corked = undefined
    stream?.uncork()
  }
}
