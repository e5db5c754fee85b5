// Limits on code entry beyond one address (issue 13): per account, per IPv6 prefix, the global
// budget, and counting first. Each holds across two instances sharing one store.
import t, { type Test } from 'tap'
import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { MemoryStore } from '@device-grant/store-memory'
import type { DeviceGrantEvent, DeviceGrantPluginOptions } from '../src/index.js'
import { authorize, buildApp } from './helpers.js'

function authenticate (request: FastifyRequest, reply: FastifyReply): string | undefined {
  const user = request.headers['x-user']
  if (typeof user === 'string') return user
  reply.redirect('/login')
  return undefined
}

/** Two instances of the plugin on one shared store, as two processes behind a load balancer. */
async function twoInstances (t: Test, overrides: Partial<DeviceGrantPluginOptions> = {}) {
  const store = new MemoryStore({ sweepInterval: 0 })
  const events: DeviceGrantEvent[] = []
  const options = { authenticate, store, onEvent: (e: DeviceGrantEvent) => { events.push(e) }, ...overrides }
  const one = await buildApp(options)
  const two = await buildApp(options)
  t.after(() => Promise.all([one.app.close(), two.app.close()]))
  return { apps: [one.app, two.app], clocks: [one.clock, two.clock], events, store }
}

let serial = 0
/** A well-formed code nobody was given (the code space is 20^8: a hit is not what this measures). */
function wrongCode (): string {
  serial++
  const charset = 'BCDFGHJKLMNPQRSTVWXZ'
  let n = serial
  let code = ''
  for (let i = 0; i < 8; i++) {
    code += charset[n % 20]
    n = Math.floor(n / 20)
  }
  return code
}

async function guess (app: FastifyInstance, ip: string, user: string, code = wrongCode()): Promise<LightMyRequestResponse> {
  return await app.inject({ url: `/device?user_code=${code}`, remoteAddress: ip, headers: { 'x-user': user } })
}

function isLimited (t: Test, res: LightMyRequestResponse, what: string) {
  t.equal(res.statusCode, 429, what)
  t.ok(Number(res.headers['retry-after']) > 0, 'with Retry-After')
  t.match(res.body, /Too many attempts/)
}

t.test('one account guessing from 40 addresses, 8 each, across two instances: throttled after 10', async t => {
  const { apps } = await twoInstances(t)
  const statuses: number[] = []
  for (let a = 0; a < 40; a++) {
    for (let i = 0; i < 8; i++) statuses.push((await guess(apps[a % 2] as FastifyInstance, `127.0.${a}.${i + 1}`, 'mallory')).statusCode)
  }
  t.equal(statuses.filter(s => s === 400).length, 10, 'the account got 10 wrong guesses in all, not 320')
  t.ok(statuses.slice(10).every(s => s === 429), 'then 429 from every address and both instances')
  isLimited(t, await guess(apps[0] as FastifyInstance, '127.9.9.9', 'mallory'), 'a fresh address does not help the account')
  t.equal((await guess(apps[1] as FastifyInstance, '127.0.0.1', 'alice')).statusCode, 400, 'another account may still try (its own count)')
})

t.test('once the account is over, even a live code is refused and stays unbound', async t => {
  const { apps } = await twoInstances(t, { pages: { rateLimit: { perAccount: { max: 2, window: 600 } } } })
  const app = apps[0] as FastifyInstance
  for (let i = 0; i < 2; i++) t.equal((await guess(app, `127.1.0.${i + 1}`, 'mallory')).statusCode, 400)
  const auth = await authorize(app)
  isLimited(t, await guess(app, '127.1.1.1', 'mallory', auth.user_code), 'even a live code is refused once the account is over')
  t.equal((await app.deviceGrant.lookup(auth.user_code))?.subject, undefined, 'and it was not bound to the attacker')
})

t.test('IPv6 addresses count by their /64: rotating through it gains nothing', async t => {
  const { apps } = await twoInstances(t)
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await guess(apps[i % 2] as FastifyInstance, `2001:db8:1:2::${(i + 1).toString(16)}`, `user-${i}`)).statusCode)
  t.strictSame(statuses, [...Array(10).fill(400), 429, 429], '10 failures per /64, whatever the account')
  t.equal((await guess(apps[0] as FastifyInstance, '2001:db8:1:3::1', 'user-x')).statusCode, 400, 'the next /64 is another address')
})

t.test('ipv6Prefix: 56 counts every /64 of a /56 together', async t => {
  const { apps } = await twoInstances(t, { ipv6Prefix: 56 })
  const statuses: number[] = []
  for (let i = 0; i < 11; i++) statuses.push((await guess(apps[i % 2] as FastifyInstance, `2001:db8:1:${(i + 0x10).toString(16)}::1`, `user-${i}`)).statusCode)
  t.strictSame(statuses, [...Array(10).fill(400), 429])
  t.equal((await guess(apps[0] as FastifyInstance, '2001:db8:1:100::1', 'user-y')).statusCode, 400, 'the next /56 is another address')
})

t.test('an IPv4-mapped IPv6 address counts as its IPv4 address', async t => {
  const { apps } = await twoInstances(t)
  for (let i = 0; i < 10; i++) t.equal((await guess(apps[i % 2] as FastifyInstance, '::ffff:198.51.100.7', `user-${i}`)).statusCode, 400)
  isLimited(t, await guess(apps[0] as FastifyInstance, '198.51.100.7', 'user-z'), 'the same address written as IPv4')
})

t.test('a burst of simultaneous guesses is counted before any is compared', async t => {
  const { apps } = await twoInstances(t)
  const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => guess(apps[i % 2] as FastifyInstance, '127.2.0.1', 'mallory')))
  const statuses = burst.map(r => r.statusCode)
  t.equal(statuses.filter(s => s === 400).length, 10, 'exactly 10 looked up')
  t.equal(statuses.filter(s => s === 429).length, 20, 'the rest refused')
})

t.test('a found code gives its count back; wrong ones stay counted', async t => {
  const { apps } = await twoInstances(t, { pages: { rateLimit: { perAccount: { max: 3, window: 600 } } } })
  const app = apps[0] as FastifyInstance
  for (let i = 0; i < 2; i++) t.equal((await guess(app, '127.3.0.1', 'carol')).statusCode, 400)
  for (let i = 0; i < 3; i++) {
    const auth = await authorize(app)
    t.equal((await guess(app, '127.3.0.1', 'carol', auth.user_code)).statusCode, 200, 'her own codes open, however many')
  }
  t.equal((await guess(app, '127.3.0.1', 'carol')).statusCode, 400, 'the third failure')
  isLimited(t, await guess(app, '127.3.0.1', 'carol'), 'and the fourth is refused: successes refunded only themselves')
})

t.test('the global budget: an alert once per window, then every account and address gets a fifth', async t => {
  const { apps, clocks, events } = await twoInstances(t, { pages: { rateLimit: { global: { max: 30, window: 600 } } } })
  // 40 accounts on 40 addresses, 1 guess each: no per-account or per-address limit is near.
  for (let i = 0; i < 40; i++) t.equal((await guess(apps[i % 2] as FastifyInstance, `127.4.0.${i + 1}`, `bot-${i}`)).statusCode, 400)
  const alerts = events.filter(e => e.type === 'verification.attack_suspected')
  t.equal(alerts.length, 1, 'one alert, from whichever instance crossed the budget')
  t.match(alerts[0], { type: 'verification.attack_suspected', failures: 31, max: 30, windowSeconds: 600 })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await guess(apps[i % 2] as FastifyInstance, '127.4.1.1', 'newcomer')).statusCode)
  t.strictSame(statuses, [400, 400, 429, 429], 'a fresh account on a fresh address: 2 failures (10 / 5) while over budget')
  const auth = await authorize(apps[0] as FastifyInstance)
  t.equal((await guess(apps[1] as FastifyInstance, '127.4.2.1', 'owner', auth.user_code)).statusCode, 200, 'a right code still opens')
  for (const clock of clocks) clock.advance(600)
  t.equal((await guess(apps[0] as FastifyInstance, '127.4.1.1', 'newcomer')).statusCode, 400, 'the next window starts untightened')
  t.equal(events.filter(e => e.type === 'verification.attack_suspected').length, 1, 'and no alert without failures over the budget')
})

t.test('limits answer a page, never a 5xx, when the counter fails', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  store.hit = async () => { throw new (await import('../src/index.js')).StoreUnavailableError('down', { retryAfter: 2 }) }
  const { app } = await buildApp({ authenticate, store })
  t.after(() => app.close())
  const res = await guess(app, '127.5.0.1', 'mallory')
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '2')
})

t.test('a store shared across processes without hit() gets a startup warning while limits are on', async t => {
  const logsFor = async (options: Partial<DeviceGrantPluginOptions>) => {
    const store = new MemoryStore({ sweepInterval: 0 })
    Object.defineProperty(store, 'capabilities', { value: { sharedAcrossProcesses: true } })
    Object.defineProperty(store, 'hit', { value: undefined })
    const lines: string[] = []
    const { app } = await buildApp({ store, ...options }, undefined, lines)
    t.after(() => app.close())
    return lines.filter(l => l.includes('has no hit()'))
  }
  const warned = await logsFor({})
  t.equal(warned.length, 1)
  t.match(warned[0], /rate limits count in each process on its own/)
  t.strictSame(await logsFor({ clientAuthRateLimit: false }), [], 'no limit on, nothing to warn about')
})
