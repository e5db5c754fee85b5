import t, { type Test } from 'tap'
import type { Socket } from 'node:net'
import type { Redis } from 'ioredis'
import { RedisStore } from '../src/index.js'
import { connect, makeGrant, quit, ready, RedisServer } from './helpers.js'

// A private server: its read counter sees only these clients.
const server = await RedisServer.start()
const admin = connect(server.url)
t.teardown(async () => {
  await quit(admin)
  await server.destroy()
})

const N = 40

type Writer = (...args: unknown[]) => unknown

/** Counts the socket writes (each one system call) the client's connection makes from now on. */
function countWrites (client: Redis): () => number {
  const stream = client.stream as Socket & { _write: Writer, _writev?: Writer }
  let writes = 0
  for (const name of ['_write', '_writev'] as const) {
    const original = stream[name]
    if (original === undefined) continue
    stream[name] = function (this: unknown, ...args: unknown[]) {
      writes++
      return original.apply(this, args)
    }
  }
  return () => writes
}

async function readsProcessed (): Promise<number> {
  const info = await admin.info('stats')
  return Number(/total_reads_processed:(\d+)/.exec(info)?.[1])
}

/**
 * N pending grants, each polled once, with intervals 101..100+N: long enough that a loaded
 * machine cannot make the next poll on time, so it answers slow_down with interval + 5.
 */
async function seeded (store: RedisStore): Promise<string[]> {
  const hashes: string[] = []
  for (let i = 1; i <= N; i++) {
    const g = makeGrant({ interval: 100 + i })
    await store.save(g)
    await store.recordPoll(g.deviceCodeHash, { clientId: 'tv', now: g.createdAt, leewayMs: 0, slowDownStep: 5 })
    hashes.push(g.deviceCodeHash)
  }
  return hashes
}

async function pollAll (store: RedisStore, hashes: string[]): Promise<Array<number | undefined>> {
  // All N in one turn of the event loop, as concurrent requests arriving together would be.
  const results = await Promise.all(hashes.map(h => store.recordPoll(h, { clientId: 'tv', now: Date.now(), leewayMs: 0, slowDownStep: 5 })))
  return results.map(r => (r?.slowDown === true ? r.grant.interval : undefined))
}

async function client (t: Test): Promise<Redis> {
  const c = connect(server.url)
  t.after(() => quit(c))
  await ready(c)
  return c
}

t.test('commands sent in one turn leave in one socket write, and each gets its own answer', async t => {
  const c = await client(t)
  const store = new RedisStore({ client: c, keyPrefix: 'co1:' })
  const hashes = await seeded(store)
  const writes = countWrites(c)
  const readsBefore = await readsProcessed()
  const intervals = await pollAll(store, hashes)
  const reads = await readsProcessed() - readsBefore - 1 // the INFO call itself
  t.same(intervals, hashes.map((_, i) => 100 + i + 1 + 5), 'every poll answered slow_down with its own grant\'s new interval')
  t.equal(writes(), 1, `${N} commands, one write`)
  t.ok(reads <= 2, `Redis read them at once (${reads} reads)`)
})

t.test('with coalesceWrites: false every command is its own write', async t => {
  const c = await client(t)
  const store = new RedisStore({ client: c, keyPrefix: 'co2:', coalesceWrites: false })
  const hashes = await seeded(store)
  const writes = countWrites(c)
  const intervals = await pollAll(store, hashes)
  t.same(intervals, hashes.map((_, i) => 100 + i + 1 + 5))
  t.ok(writes() >= N / 2, `${writes()} writes for ${N} commands`)
})

t.test('a faked global setImmediate (a test\'s fake timers) does not hold commands back', async t => {
  const c = await client(t)
  const store = new RedisStore({ client: c, keyPrefix: 'co3:' })
  const hashes = await seeded(store)
  const real = globalThis.setImmediate
  globalThis.setImmediate = (() => {}) as unknown as typeof setImmediate
  try {
    t.same(await pollAll(store, hashes.slice(0, 3)), [106, 107, 108])
  } finally {
    globalThis.setImmediate = real
  }
})

t.test('the user\'s own commands in the same turn keep their order and answers', async t => {
  const c = await client(t)
  const store = new RedisStore({ client: c, keyPrefix: 'co4:' })
  const [h] = await seeded(store)
  const [, set, poll, get] = await Promise.all([
    store.findByDeviceCodeHash(h!),
    c.set('co4:mine', 'a'),
    store.recordPoll(h!, { clientId: 'tv', now: Date.now(), leewayMs: 0, slowDownStep: 5 }),
    c.get('co4:mine')
  ])
  t.equal(set, 'OK')
  t.equal(poll?.slowDown, true)
  t.equal(get, 'a')
})
