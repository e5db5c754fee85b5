/**
 * Where proof `jti`s are remembered: `useOnce` resolves true the first time a key is used while
 * live, false for a replay. `DeviceGrantStore.useOnce` from `@device-grant/core` has this shape,
 * so a shared store (Redis, PostgreSQL) detects a replay at any instance.
 */
export interface ReplayStore {
  useOnce(key: string, use: { now: number, expiresAt: number }): Promise<boolean>
}

/** Beyond this many live entries the oldest are dropped first: memory stays bounded under a flood. */
const DEFAULT_MAX_ENTRIES = 100_000

/**
 * A `ReplayStore` in this process's memory: right for one instance, and the fallback for a
 * store without `useOnce`. Several instances each keeping their own would let a proof be
 * replayed once per instance.
 */
export class InMemoryReplayCache implements ReplayStore {
  readonly #entries = new Map<string, number>()
  readonly #maxEntries: number

  constructor (options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
  }

  async useOnce (key: string, use: { now: number, expiresAt: number }): Promise<boolean> {
    const until = this.#entries.get(key)
    if (until !== undefined && use.now < until) return false
    this.#entries.delete(key)
    if (this.#entries.size >= this.#maxEntries) this.#evict(use.now)
    this.#entries.set(key, use.expiresAt)
    return true
  }

  /** Drops entries oldest first (insertion order is close to expiry order) until a tenth is free and the next one is live. */
  #evict (now: number): void {
    for (const [key, until] of this.#entries) {
      if (until <= now || this.#entries.size > this.#maxEntries * 0.9) this.#entries.delete(key)
      else break
    }
  }

  get size (): number {
    return this.#entries.size
  }
}
