import assert from 'node:assert/strict'
import type { OnceUse } from '@device-grant/core'
import type { Group } from '../case.js'
import { randomDeviceCodeHash } from '../fixtures.js'
import { count } from '../states.js'
import { optional } from '../support.js'

/** How long a use lasts in these cases: long enough that no store evicts it mid-run. */
const USE_MS = 10 * 60_000

export function randomOnceKey (): string {
  return `suite:jti:${randomDeviceCodeHash()}`
}

/** `useOnce`: a key is used once while live, keys are independent, one winner among racers. */
export const onceGroup: Group = [
  {
    name: 'useOnce is true the first time and false while the use is live',
    needs: ['useOnce'],
    run: async (store) => {
      const useOnce = optional(store, 'useOnce')
      const key = randomOnceKey()
      const now = Date.now()
      const expiresAt = now + USE_MS
      assert.equal(await useOnce(key, { now, expiresAt }), true, 'the first use')
      assert.equal(await useOnce(key, { now: now + 1, expiresAt: now + 1 + USE_MS }), false, 'a replay')
      assert.equal(await useOnce(key, { now: expiresAt - 1, expiresAt: expiresAt + USE_MS }), false, 'a replay in the last millisecond')
    }
  },
  {
    name: 'useOnce is true again once the earlier use has expired',
    needs: ['useOnce'],
    run: async (store) => {
      const useOnce = optional(store, 'useOnce')
      const key = randomOnceKey()
      const now = Date.now()
      const first = { now, expiresAt: now + USE_MS }
      assert.equal(await useOnce(key, first), true, 'the first use')
      const second = { now: first.expiresAt, expiresAt: first.expiresAt + USE_MS }
      assert.equal(await useOnce(key, second), true, 'at expiresAt the first use is over')
      assert.equal(await useOnce(key, { now: second.now + 1, expiresAt: second.expiresAt + 1 }), false, 'the second use holds until its own expiresAt')
    }
  },
  {
    name: 'useOnce keys are independent',
    needs: ['useOnce'],
    run: async (store) => {
      const useOnce = optional(store, 'useOnce')
      const [a, b] = [randomOnceKey(), randomOnceKey()]
      const use = { now: Date.now(), expiresAt: Date.now() + USE_MS }
      assert.equal(await useOnce(a, use), true, 'key a')
      assert.equal(await useOnce(b, use), true, 'key b, after a')
      assert.equal(await useOnce(a, use), false, 'key a again')
      assert.equal(await useOnce(b, use), false, 'key b again')
    }
  },
  {
    name: 'parallel useOnce calls with one key have exactly one winner',
    needs: ['useOnce'],
    run: async (store, { concurrency }) => {
      const useOnce = optional(store, 'useOnce')
      const key = randomOnceKey()
      const now = Date.now()
      const outcomes = await Promise.all(Array.from({ length: concurrency }, async (_, i) =>
        await useOnce(key, { now: now + i, expiresAt: now + USE_MS })))
      assert.equal(count(outcomes, (won) => won), 1, `${count(outcomes, (won) => won)} of ${concurrency} parallel uses won`)
    }
  },
  {
    name: 'useOnce rejects bad arguments with a TypeError',
    needs: ['useOnce'],
    run: async (store) => {
      const useOnce = optional(store, 'useOnce')
      const now = Date.now()
      const good = { now, expiresAt: now + USE_MS }
      const bad: Array<[string, string, OnceUse]> = [
        ['an empty key', '', good],
        ['a NaN now', randomOnceKey(), { ...good, now: Number.NaN }],
        ['expiresAt at now', randomOnceKey(), { ...good, expiresAt: now }],
        ['expiresAt before now', randomOnceKey(), { ...good, expiresAt: now - 1 }],
        ['no use', randomOnceKey(), null as unknown as OnceUse]
      ]
      for (const [what, key, use] of bad) {
        await assert.rejects(useOnce(key, use), TypeError, what)
      }
      assert.equal(await useOnce(bad[1]![1], good), true, 'a refused call used nothing')
    }
  }
]
