import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { RedisStore } from '../src/index.js'
import { connect, makeGrant, quit, ready, RedisServer } from './helpers.js'

// A private server: MONITOR sees every client, and only ours may be counted.
const server = await RedisServer.start()
const client = connect(server.url)
const marker = connect(server.url)
const monitorParent = connect(server.url)
// Every other connection finishes its ready check (an INFO) before MONITOR starts: ioredis
// fails with "Command queue state error" when a monitored line reaches the monitoring
// connection before it has switched into monitor mode.
await Promise.all([ready(client), ready(marker), ready(monitorParent)])
// monitor() opens a connection of its own; the parent one stays open too.
const monitor: Redis = await monitorParent.monitor()
t.teardown(async () => {
  monitor.disconnect() // a monitoring connection accepts no QUIT
  await Promise.all([quit(client), quit(marker), quit(monitorParent)])
  await server.destroy()
})

const store = new RedisStore({ client, keyPrefix: 'rt:' })
const info = await client.call('CLIENT', 'INFO') as string
const address = /\baddr=(\S+)/.exec(info)?.[1]

/**
 * The commands our client sent while `fn` ran, as the server executed them. The MONITOR feed
 * arrives on its own socket, possibly after a reply reached our client, so each window is
 * fenced by a marker on both sides: one ECHO before (drains what earlier steps left in the
 * feed) and one after (MONITOR reports in execution order, so once it shows, all of fn has).
 */
async function commandsOf (fn: () => Promise<unknown>, from = address): Promise<string[]> {
  const seen: string[] = []
  const start = randomBytes(8).toString('hex')
  const end = randomBytes(8).toString('hex')
  let counting = false
  let done: () => void = () => {}
  let started: () => void = () => {}
  const fence = (resolver: (r: () => void) => void) => new Promise<void>((resolve, reject) => {
    resolver(resolve)
    setTimeout(() => { reject(new Error('MONITOR never showed the marker')) }, 5000).unref()
  })
  const sawStart = fence(r => { started = r })
  const sawEnd = fence(r => { done = r })
  const listener = (_time: string, args: string[], source: string) => {
    const command = String(args[0]).toLowerCase()
    if (command === 'echo' && args[1] === start) {
      counting = true
      started()
    } else if (command === 'echo' && args[1] === end) {
      done()
    } else if (counting && source === from) {
      seen.push(command)
    }
  }
  monitor.on('monitor', listener)
  try {
    await marker.echo(start)
    await sawStart
    await fn()
    await marker.echo(end)
    await sawEnd
  } finally {
    monitor.off('monitor', listener)
  }
  return seen
}

t.ok(address, 'found our client in CLIENT INFO')

t.test('one round trip per operation (two for save and findByUserCode)', async t => {
  const warm = makeGrant()
  await store.save(warm)
  await store.recordPoll(warm.deviceCodeHash, { clientId: 'tv', now: warm.createdAt, leewayMs: 1000, slowDownStep: 5 })

  const g = makeGrant()
  const h = g.deviceCodeHash
  const now = g.createdAt + 10
  const poll = { clientId: g.clientId, now, leewayMs: 1000, slowDownStep: 5 }

  t.equal((await commandsOf(() => store.save(g))).length, 2, 'save: claim the user code, write the record')
  t.strictSame(await commandsOf(() => store.findByDeviceCodeHash(h)), ['hgetall'], 'findByDeviceCodeHash')
  t.strictSame(await commandsOf(() => store.findByUserCode(g.userCode)), ['get', 'hgetall'], 'findByUserCode')
  t.strictSame(await commandsOf(() => store.recordPoll(h, poll)), ['evalsha'], 'recordPoll')
  t.strictSame(await commandsOf(() => store.recordPoll(h, { ...poll, now: now + 1 })), ['evalsha'], 'recordPoll, too fast')
  t.strictSame(await commandsOf(() => store.recordPoll('missing', poll)), ['evalsha'], 'recordPoll, unknown code')
  t.equal((await commandsOf(() => store.bindSubject(h, { subject: 'alice', now }))).length, 1, 'bindSubject')
  t.equal((await commandsOf(() => store.approve(h, { subject: 'alice', now }))).length, 1, 'approve')
  t.equal((await commandsOf(() => store.claim(h, now))).length, 1, 'claim')
  t.equal((await commandsOf(() => store.claim(h, now))).length, 1, 'claim, lost')
  const d = makeGrant()
  await store.save(d)
  t.equal((await commandsOf(() => store.deny(d.deviceCodeHash, { subject: 'bob', now }))).length, 1, 'deny')
  t.equal((await commandsOf(() => store.hit('ip:1', { windowMs: 60_000, now, increment: 1 }))).length, 1, 'hit')
  t.equal((await commandsOf(() => store.hit('ip:1', { windowMs: 60_000, now, increment: -1 }))).length, 1, 'hit, refund')
  t.equal((await commandsOf(() => store.useOnce('jti:1', { now, expiresAt: now + 60_000 }))).length, 1, 'useOnce')
  t.equal((await commandsOf(() => store.useOnce('jti:1', { now, expiresAt: now + 60_000 }))).length, 1, 'useOnce, replayed')
})

t.test('a save that loses on the user code stops after one round trip', async t => {
  const g = makeGrant()
  await store.save(g)
  t.equal((await commandsOf(() => store.save({ ...makeGrant(), userCode: g.userCode }))).length, 1)
})

t.test('the first call of a script on a connection is still one round trip', async t => {
  const fresh = connect(server.url)
  t.teardown(() => quit(fresh))
  const s = new RedisStore({ client: fresh, keyPrefix: 'rt:' })
  await fresh.ping()
  const freshInfo = await fresh.call('CLIENT', 'INFO') as string
  const freshAddress = /\baddr=(\S+)/.exec(freshInfo)?.[1]
  const seen = await commandsOf(() => s.recordPoll('missing', { clientId: 'tv', now: Date.now(), leewayMs: 1000, slowDownStep: 5 }), freshAddress)
  t.strictSame(seen, ['eval'], 'EVAL with the body, no EVALSHA/NOSCRIPT detour')
})
