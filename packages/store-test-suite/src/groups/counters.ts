import assert from 'node:assert/strict'
import type { CounterWindow, DeviceGrantStore } from '@device-grant/core'
import type { Group } from '../case.js'
import { randomDeviceCodeHash } from '../fixtures.js'
import { optional } from '../support.js'

/**
 * A counter window that starts at a multiple of `windowMs` at least ten minutes ahead, so a
 * store whose counters expire with their window on the wall clock keeps them through the case.
 */
function futureWindow (): { windowMs: number, start: number } {
  const windowMs = 60_000
  return { windowMs, start: (Math.floor((Date.now() + 10 * 60_000) / windowMs) + 1) * windowMs }
}

function randomCounterKey (): string {
  return `suite:${randomDeviceCodeHash()}`
}

type Count = { count: number, resetAt: number }

/** The store's `hit`, answering only the two fields the contract defines. */
function counterOf (store: DeviceGrantStore): (key: string, window: CounterWindow) => Promise<Count> {
  const hit = optional(store, 'hit')
  return async (key, window) => {
    const { count, resetAt } = await hit(key, window)
    return { count, resetAt }
  }
}

/** A fresh key in a future window, and the store's `hit` to count it with. */
function counterFixture (store: DeviceGrantStore): { hit: ReturnType<typeof counterOf>, key: string, windowMs: number, start: number, resetAt: number } {
  const { windowMs, start } = futureWindow()
  return { hit: counterOf(store), key: randomCounterKey(), windowMs, start, resetAt: start + windowMs }
}

/** Sorted counts, to compare what parallel callers saw whatever order they ran in. */
const sortedCounts = (hits: Count[]): number[] => hits.map((each) => each.count).sort((a, b) => a - b)

/** `hit`: fixed windows, per key, reads, refunds, and atomic under parallel callers. */
export const counterGroup: Group = [
  {
    name: 'hit counts per key within a window',
    needs: ['hit'],
    run: async (store) => {
      const { hit, key, windowMs, start, resetAt } = counterFixture(store)
      assert.deepEqual(await hit(key, { windowMs, now: start + 1000, increment: 1 }), { count: 1, resetAt }, 'first hit')
      assert.deepEqual(await hit(key, { windowMs, now: start + 2000, increment: 2 }), { count: 3, resetAt }, 'adds the increment')
      assert.deepEqual(await hit(randomCounterKey(), { windowMs, now: start + 3000, increment: 1 }), { count: 1, resetAt }, 'another key counts apart')
      assert.deepEqual(await hit(key, { windowMs, now: start + 4000, increment: 1 }), { count: 4, resetAt }, 'untouched by the other key')
    }
  },
  {
    name: 'hit with increment 0 only reads',
    needs: ['hit'],
    run: async (store) => {
      const { hit, key, windowMs, start, resetAt } = counterFixture(store)
      const read = { windowMs, now: start + 1000, increment: 0 }
      assert.deepEqual(await hit(key, read), { count: 0, resetAt }, 'a key never hit reads 0')
      assert.deepEqual(await hit(key, read), { count: 0, resetAt }, 'reading counts nothing')
      await hit(key, { ...read, increment: 1 })
      assert.deepEqual(await hit(key, read), { count: 1, resetAt }, 'reads the hit')
    }
  },
  {
    name: 'hit starts a new window at each multiple of windowMs',
    needs: ['hit'],
    run: async (store) => {
      const { hit: counter, key, windowMs, start } = counterFixture(store)
      const hit = async (now: number): Promise<Count> => await counter(key, { windowMs, now, increment: 1 })
      assert.deepEqual(await hit(start - 1), { count: 1, resetAt: start }, 'the previous window ends at the multiple')
      assert.deepEqual(await hit(start), { count: 1, resetAt: start + windowMs }, 'a window starts at its multiple')
      assert.deepEqual(await hit(start + windowMs - 1), { count: 2, resetAt: start + windowMs }, 'same window until its last millisecond')
      assert.deepEqual(await hit(start + windowMs), { count: 1, resetAt: start + 2 * windowMs }, 'the next window counts from zero')
    }
  },
  {
    name: 'hit with a negative increment refunds, never below 0',
    needs: ['hit'],
    run: async (store) => {
      const { hit, key, windowMs, start, resetAt } = counterFixture(store)
      const at = { windowMs, now: start + 1000 }
      assert.deepEqual(await hit(key, { ...at, increment: 3 }), { count: 3, resetAt }, 'three hits')
      assert.deepEqual(await hit(key, { ...at, increment: -1 }), { count: 2, resetAt }, 'a refund lowers the count')
      assert.deepEqual(await hit(key, { ...at, increment: -5 }), { count: 0, resetAt }, 'a refund larger than the count stops at 0')
      assert.deepEqual(await hit(key, { ...at, increment: 0 }), { count: 0, resetAt }, 'stored as 0')
      assert.deepEqual(await hit(key, { ...at, increment: 1 }), { count: 1, resetAt }, 'the next hit counts from 0')
    }
  },
  {
    name: 'a refund in a later window does not go negative',
    needs: ['hit'],
    run: async (store) => {
      const { hit, key, windowMs, start } = counterFixture(store)
      await hit(key, { windowMs, now: start + 1000, increment: 2 })
      // The attempt was counted in one window and is given back in the next: nothing to refund there.
      const next = { windowMs, now: start + windowMs + 1000 }
      const resetAt = start + 2 * windowMs
      assert.deepEqual(await hit(key, { ...next, increment: -1 }), { count: 0, resetAt }, 'the refund')
      assert.deepEqual(await hit(key, { ...next, increment: 1 }), { count: 1, resetAt }, 'a hit after it counts from 0')
    }
  },
  {
    name: 'parallel hits on one key are all counted',
    needs: ['hit'],
    run: async (store, { concurrency }) => {
      const { hit, key, windowMs, start } = counterFixture(store)
      const at = { windowMs, now: start + 1000 }
      const hits = await Promise.all(Array.from({ length: concurrency }, async () => await hit(key, { ...at, increment: 1 })))
      // Each increment is atomic, so each caller sees its own count: 1, 2, ... n in some order.
      assert.deepEqual(sortedCounts(hits), Array.from({ length: concurrency }, (_, i) => i + 1))
      assert.equal((await hit(key, { ...at, increment: 0 })).count, concurrency)
    }
  },
  {
    name: 'parallel hits then as many parallel refunds on one key come back to 0',
    needs: ['hit'],
    run: async (store, { concurrency }) => {
      const { hit, key, windowMs, start } = counterFixture(store)
      const at = { windowMs, now: start + 1000 }
      const parallel = async (increment: number): Promise<Count[]> =>
        await Promise.all(Array.from({ length: concurrency }, async () => await hit(key, { ...at, increment })))
      assert.deepEqual(sortedCounts(await parallel(1)), Array.from({ length: concurrency }, (_, i) => i + 1), 'the hits')
      assert.deepEqual(sortedCounts(await parallel(-1)), Array.from({ length: concurrency }, (_, i) => i), 'the refunds')
      assert.equal((await hit(key, { ...at, increment: 0 })).count, 0)
    }
  },
  {
    name: 'hit rejects bad arguments with a TypeError',
    needs: ['hit'],
    run: async (store) => {
      const hit = optional(store, 'hit')
      const { windowMs, start } = futureWindow()
      const good = { windowMs, now: start + 1000, increment: 1 }
      const bad: Array<[string, string, CounterWindow]> = [
        ['an empty key', '', good],
        ['windowMs 0', randomCounterKey(), { ...good, windowMs: 0 }],
        ['a fractional windowMs', randomCounterKey(), { ...good, windowMs: 1.5 }],
        ['a NaN now', randomCounterKey(), { ...good, now: Number.NaN }],
        ['a fractional increment', randomCounterKey(), { ...good, increment: 0.5 }],
        ['no window', randomCounterKey(), null as unknown as CounterWindow]
      ]
      for (const [what, key, window] of bad) {
        await assert.rejects(hit(key, window), TypeError, what)
      }
    }
  }
]
