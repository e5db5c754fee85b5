import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { makeGrant } from '@device-grant/store-test-suite'
import type { DeviceGrantRecord } from '@device-grant/core'
import { MemoryStore, memoryStore } from '../src/index.js'

// What is specific to the memory store: the conformance suite (conformance.test.ts) covers the contract.

const RETENTION_S = 60
const RETENTION_MS = RETENTION_S * 1000

function noTimer (options: ConstructorParameters<typeof MemoryStore>[0] = {}): MemoryStore {
  return new MemoryStore({ sweepInterval: 0, ...options })
}

/** `n` grants saved in expiry order, the first expiring at `expiresAt`, one second apart. */
async function saveMany (store: MemoryStore, n: number, expiresAt: number): Promise<DeviceGrantRecord[]> {
  const grants: DeviceGrantRecord[] = []
  for (let i = 0; i < n; i++) {
    const grant = makeGrant({ expiresAt: expiresAt + i * 1000 })
    assert.equal(await store.save(grant), true)
    grants.push(grant)
  }
  return grants
}

async function waitFor (condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}

t.test('the store says it is not shared across processes', async (t) => {
  t.same(noTimer().capabilities, { sharedAcrossProcesses: false })
})

t.test('memoryStore() makes a MemoryStore with the options given', async (t) => {
  const store = memoryStore({ sweepInterval: 0, retention: 0 })
  t.type(store, MemoryStore)
  const [grant] = await saveMany(store, 1, Date.now() + 60_000)
  t.equal(await store.sweep(grant!.expiresAt), 1, 'retention 0 was taken')
})

t.test('the constructor rejects invalid options', async (t) => {
  const invalid: Array<[ConstructorParameters<typeof MemoryStore>[0], RegExp]> = [
    [{ retention: -1 }, /^@device-grant\/store-memory: retention must be a number of seconds >= 0$/],
    [{ retention: Number.NaN }, /: retention /],
    [{ retention: Number.POSITIVE_INFINITY }, /: retention /],
    [{ retention: '600' as unknown as number }, /: retention /],
    [{ sweepInterval: -1 }, /^@device-grant\/store-memory: sweepInterval must be a number of seconds >= 0$/],
    [{ sweepInterval: Number.NaN }, /: sweepInterval /],
    [{ sweepInterval: Number.POSITIVE_INFINITY }, /: sweepInterval /],
    [{ sweepBatch: 0 }, /^@device-grant\/store-memory: sweepBatch must be a positive integer$/],
    [{ sweepBatch: -5 }, /: sweepBatch /],
    [{ sweepBatch: 1.5 }, /: sweepBatch /],
    [{ sweepBatch: Number.NaN }, /: sweepBatch /]
  ]
  for (const [options, message] of invalid) {
    t.throws(() => new MemoryStore(options), { name: 'TypeError', message }, JSON.stringify(options))
  }
})

t.test('the constructor accepts zero retention, no timer and a batch of one', async (t) => {
  const store = new MemoryStore({ retention: 0, sweepInterval: 0, sweepBatch: 1 })
  t.equal(store.size, 0)
  await store.close()
})

t.test('size counts records, expired ones not yet swept included', async (t) => {
  const store = noTimer()
  const [first] = await saveMany(store, 2, Date.now() + 60_000)
  t.equal(store.size, 2)
  t.ok(await store.findByDeviceCodeHash(first!.deviceCodeHash), 'an expired record is still found until swept')
})

t.test('save refuses a device-code hash that is already stored', async (t) => {
  const store = noTimer()
  const grant = makeGrant()
  t.equal(await store.save(grant), true)
  t.equal(await store.save({ ...grant, userCode: makeGrant().userCode }), false)
  t.equal(store.size, 1)
})

t.test('a save that takes an expired holder\'s user code drops the holder', async (t) => {
  const store = noTimer()
  const holder = makeGrant()
  t.equal(await store.save(holder), true)
  const next = makeGrant({ userCode: holder.userCode, createdAt: holder.expiresAt })
  t.equal(await store.save(next), true)
  t.equal(store.size, 1)
  t.equal(await store.findByDeviceCodeHash(holder.deviceCodeHash), undefined)
  t.equal((await store.findByUserCode(holder.userCode))?.deviceCodeHash, next.deviceCodeHash)
})

t.test('sweep keeps a record until expiresAt + retention', async (t) => {
  const store = noTimer({ retention: RETENTION_S })
  const [grant] = await saveMany(store, 1, Date.now() + 60_000)
  const dropAt = grant!.expiresAt + RETENTION_MS
  t.equal(await store.sweep(grant!.expiresAt), 0, 'kept at expiresAt: a late poll still hears expired_token')
  t.equal(await store.sweep(dropAt - 1), 0, 'kept until the retention ends')
  t.equal(store.size, 1)
  t.equal(await store.sweep(dropAt), 1, 'dropped once the retention ends')
  t.equal(store.size, 0)
  t.equal(await store.findByDeviceCodeHash(grant!.deviceCodeHash), undefined)
})

t.test('sweep removes only the records past expiresAt + retention', async (t) => {
  const store = noTimer({ retention: RETENTION_S })
  const grants = await saveMany(store, 4, Date.now() + 60_000)
  // Past the retention of the first two only.
  t.equal(await store.sweep(grants[1]!.expiresAt + RETENTION_MS), 2)
  for (const [i, grant] of grants.entries()) {
    const found = await store.findByDeviceCodeHash(grant.deviceCodeHash)
    t.equal(found !== undefined, i >= 2, `record ${i}`)
  }
})

t.test('sweep stops after sweepBatch deletions', async (t) => {
  const store = noTimer({ retention: 0, sweepBatch: 2 })
  const grants = await saveMany(store, 5, Date.now() + 60_000)
  const now = grants[4]!.expiresAt
  t.equal(await store.sweep(now), 2)
  t.equal(store.size, 3)
  t.equal(await store.sweep(now), 2)
  t.equal(await store.sweep(now), 1)
  t.equal(store.size, 0)
})

t.test('sweep stops at the first record still kept, oldest first', async (t) => {
  // The bound on a sweep's cost: records go in roughly in expiry order, so the walk ends at the
  // first one still kept. A longer-lived record saved first shields the ones behind it until
  // it goes too, or until deleteExpired runs.
  const store = noTimer({ retention: 0 })
  const now = Date.now()
  const longLived = makeGrant({ expiresAt: now + 3_600_000 })
  t.equal(await store.save(longLived), true)
  const [shortLived] = await saveMany(store, 1, now + 60_000)
  t.equal(await store.sweep(shortLived!.expiresAt), 0)
  t.equal(store.size, 2)
  t.equal(await store.deleteExpired(shortLived!.expiresAt), 1)
  t.ok(await store.findByDeviceCodeHash(longLived.deviceCodeHash))
})

t.test('sweep removes the user code with its record', async (t) => {
  const store = noTimer({ retention: 0 })
  const [grant] = await saveMany(store, 1, Date.now() + 60_000)
  t.equal(await store.sweep(grant!.expiresAt), 1)
  t.equal(await store.findByUserCode(grant!.userCode), undefined)
  // Even a save dated before the old expiry gets the code: nothing holds it any more.
  t.equal(await store.save(makeGrant({ userCode: grant!.userCode })), true)
})

t.test('deleteExpired ignores the retention and removes user codes too', async (t) => {
  const store = noTimer({ retention: RETENTION_S })
  const grants = await saveMany(store, 3, Date.now() + 60_000)
  t.equal(await store.deleteExpired(grants[1]!.expiresAt), 2)
  t.equal(store.size, 1)
  for (const grant of grants.slice(0, 2)) {
    t.equal(await store.findByUserCode(grant.userCode), undefined)
  }
  t.equal((await store.findByUserCode(grants[2]!.userCode))?.deviceCodeHash, grants[2]!.deviceCodeHash)
})

t.test('sweep drops rate-limit counters once their window has ended', async (t) => {
  const store = noTimer()
  const window = { windowMs: 60_000, now: Date.now(), increment: 0 }
  const { resetAt } = await store.hit('ip:192.0.2.1', { ...window, increment: 3 })
  await store.sweep(resetAt - 1)
  t.equal((await store.hit('ip:192.0.2.1', window)).count, 3, 'kept while its window runs')
  await store.sweep(resetAt)
  t.equal((await store.hit('ip:192.0.2.1', window)).count, 0, 'dropped at the end of its window')
})

t.test('sweep() without a time sweeps by the store\'s clock', async (t) => {
  let now = Date.now()
  const store = new MemoryStore({ retention: 0, sweepInterval: 0, clock: () => now })
  const [grant] = await saveMany(store, 1, now + 60_000)
  t.equal(await store.sweep(), 0, 'kept while the clock says it is live')
  now = grant!.expiresAt
  t.equal(await store.sweep(), 1, 'dropped once the clock reached expiresAt')
})

t.test('the sweep timer sweeps every sweepInterval by the injected clock', async (t) => {
  let now = Date.now()
  const store = new MemoryStore({ retention: 0, sweepInterval: 0.01, clock: () => now })
  t.teardown(() => store.close())
  const [grant] = await saveMany(store, 1, now + 60_000)
  await sleep(50)
  t.equal(store.size, 1, 'kept while the clock says it is live')
  now = grant!.expiresAt
  t.ok(await waitFor(() => store.size === 0, 2000), 'swept once the clock passed expiresAt')
})

t.test('close() stops the sweep timer and can be called twice', async (t) => {
  const now = Date.now()
  // A clock an hour ahead: the first tick would sweep the record.
  const store = new MemoryStore({ retention: 0, sweepInterval: 0.01, clock: () => now + 3_600_000 })
  await store.close()
  await store.close()
  await saveMany(store, 1, now + 60_000)
  await sleep(50)
  t.equal(store.size, 1, 'no sweep after close()')
})

t.test('the sweep timer does not keep the process alive', async (t) => {
  // The child starts with tap's TypeScript loader, which is slow on a loaded machine; a held
  // timer still shows as a kill at the deadline, however generous.
  t.setTimeout(120_000)
  const src = new URL('../src/index.ts', import.meta.url).href
  // A one-hour timer: if it held the process, the child would run until the timeout kills it.
  const code = `import { MemoryStore } from ${JSON.stringify(src)}
new MemoryStore({ sweepInterval: 3600 })
console.log('store created')`
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('exit', (status, exitSignal) => resolve([status, exitSignal]))
  })
  t.equal(stdout.trim(), 'store created', stderr)
  t.equal(signal, null, 'the child exited on its own, it was not killed')
  t.equal(exitCode, 0, stderr)
})
