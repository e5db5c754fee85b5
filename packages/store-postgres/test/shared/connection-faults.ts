// A database that cannot answer (nobody listening, connections killed under the store):
// StoreUnavailableError, never a hang, and the store works again on fresh connections.
import { StoreUnavailableError, type DeviceGrantRecord, type DeviceGrantStore } from '@device-grant/core'
import type { PgStoreHarness, Tap } from './harness.js'
import { grant, terminate, waitForLockWait, within } from './fixtures.js'

const poll = { clientId: 'client-a', leewayMs: 1000, slowDownStep: 5 }

/** What a promise came to, as a value: 'ok' or the error, within 10 s. */
export async function outcome (promise: Promise<unknown>): Promise<unknown> {
  return await within(10_000, promise.then(() => 'ok', (err: unknown) => err))
}

/** Every operation of a store, on one grant. */
function operations (g: DeviceGrantRecord): Array<[string, (s: DeviceGrantStore) => Promise<unknown>]> {
  return [
    ['save', (s) => s.save(g)],
    ['findByDeviceCodeHash', (s) => s.findByDeviceCodeHash?.(g.deviceCodeHash) ?? Promise.resolve()],
    ['findByUserCode', (s) => s.findByUserCode(g.userCode)],
    ['recordPoll', (s) => s.recordPoll(g.deviceCodeHash, { ...poll, now: g.createdAt })],
    ['bindSubject', (s) => s.bindSubject(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['approve', (s) => s.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['deny', (s) => s.deny(g.deviceCodeHash, { subject: 'alice', now: g.createdAt })],
    ['claim', (s) => s.claim(g.deviceCodeHash, g.createdAt)],
    ['hit', (s) => s.hit?.('k', { windowMs: 1000, now: g.createdAt, increment: 1 }) ?? Promise.resolve()],
    ['useOnce', (s) => s.useOnce?.('k', { now: g.createdAt, expiresAt: g.createdAt + 1 }) ?? Promise.resolve()],
    ['deleteExpired', (s) => s.deleteExpired?.(g.createdAt) ?? Promise.resolve()]
  ]
}

export function connectionFaultTests (t: Tap, h: PgStoreHarness): void {
  const { db, store } = h
  t.test('an unreachable server: every operation fails fast with StoreUnavailableError', async (t) => {
    const down = h.unreachable()
    t.teardown(down.close)
    for (const [name, op] of operations(grant())) {
      const err = await outcome(op(down.store))
      t.type(err, StoreUnavailableError, name)
      t.match(err, { retryAfter: Number, cause: h.refusedCause, message: new RegExp(`^${h.packageName}: ${name} failed`) }, `${name}: retryAfter, message and cause`)
    }
  })

  // approve is a single UPDATE; recordPoll a locking read-then-write (a raw query in Prisma).
  for (const [name, op, after] of [
    ['approve',
      (hash: string, now: number) => store.approve(hash, { subject: 'alice', now }),
      (hash: string, now: number) => store.approve(hash, { subject: 'alice', now })],
    ['recordPoll',
      (hash: string, now: number) => store.recordPoll(hash, { ...poll, now }),
      async (hash: string, now: number) => (await store.recordPoll(hash, { ...poll, now }))?.grant.lastPolledAt === now]
  ] as const) {
    t.test(`${name}: the connection is killed mid-statement → StoreUnavailableError, then the store works`, async (t) => {
      const g = grant()
      await store.save(g)
      // Hold the row lock so the store's statement is in flight (waiting) when its backend dies.
      await db.admin.query('BEGIN')
      await db.admin.query('SELECT 1 FROM device_grant WHERE device_code_hash = $1 FOR UPDATE', [g.deviceCodeHash])
      const pending = outcome(op(g.deviceCodeHash, g.createdAt + 1))
      await waitForLockWait(db.admin, db.applicationName)
      t.ok(await terminate(db, "wait_event_type = 'Lock'") >= 1, 'killed the waiting backend')
      const err = await pending
      await db.admin.query('ROLLBACK')
      t.type(err, StoreUnavailableError)
      t.match(String((err as Error).cause), /57P01|terminat/i, 'caused by the termination')
      t.equal(await within(10_000, after(g.deviceCodeHash, g.createdAt + 2)), true, 'works again')
    })
  }

  t.test('idle connections are killed: no hang, then the store works', async (t) => {
    const g = grant()
    await store.save(g)
    // Fill the pool with idle connections, then kill them all.
    await Promise.all(Array.from({ length: 10 }, () => store.findByDeviceCodeHash(g.deviceCodeHash)))
    t.ok(await terminate(db, "state = 'idle'") >= 1, 'killed idle backends')
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => outcome(store.findByDeviceCodeHash(g.deviceCodeHash))))
    for (const o of outcomes) {
      t.ok(o === 'ok' || o instanceof StoreUnavailableError, `answered or StoreUnavailableError: ${String(o)}`)
    }
    t.strictSame(await within(10_000, store.findByDeviceCodeHash(g.deviceCodeHash)), g, 'works again')
    t.equal(await within(10_000, store.approve(g.deviceCodeHash, { subject: 'alice', now: g.createdAt + 1 })), true)
  })
}
