// The plugin's limits on the real Redis store: two app instances, each on its own Redis client
// like two processes, sharing the counts (fastify-device-grant is a devDependency here).
import t from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { deviceGrant, type DeviceGrantEvent } from 'fastify-device-grant'
import type { RedisStore } from '../src/index.js'
import { ready, storesOnOwnClients } from './helpers.js'

const form = { 'content-type': 'application/x-www-form-urlencoded' }

async function instance (store: RedisStore, events: DeviceGrantEvent[]): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(deviceGrant, {
    issuer: 'http://127.0.0.1',
    clients: [{ clientId: 'tv' }, { clientId: 'cli', clientSecret: 'the-right-secret' }],
    store,
    authenticate: request => String(request.headers['x-user'] ?? ''),
    pages: { csrfSecret: 'a-csrf-secret-that-is-long-enough-for-the-plugin', rateLimit: { global: { max: 20, window: 600 } } },
    issueToken: () => ({ access_token: 'at', token_type: 'Bearer' }),
    onEvent: e => { events.push(e) }
  })
  await app.ready()
  return app
}

async function twoInstances (t: { after: (fn: () => unknown) => void }) {
  const shared = storesOnOwnClients('plugin-limits', 2)
  await Promise.all(shared.clients.map(ready))
  const events: DeviceGrantEvent[] = []
  const apps = await Promise.all(shared.stores.map(store => instance(store, events)))
  t.after(async () => {
    await Promise.all(apps.map(app => app.close()))
    await shared.close()
  })
  return { apps, events }
}

let serial = 0
function wrongCode (): string {
  serial++
  return `BCDF${'GHJKLMNPQRSTVWXZ'[serial % 16] ?? 'G'}${'GHJKLMNPQRSTVWXZ'[Math.floor(serial / 16) % 16] ?? 'G'}XZ`
}

async function guess (app: FastifyInstance, ip: string, user: string): Promise<LightMyRequestResponse> {
  return await app.inject({ url: `/device?user_code=${wrongCode()}`, remoteAddress: ip, headers: { 'x-user': user } })
}

t.test('one account on many addresses, over two instances: 10 wrong codes, then 429', async t => {
  const { apps } = await twoInstances(t)
  const statuses: number[] = []
  for (let i = 0; i < 16; i++) statuses.push((await guess(apps[i % 2] as FastifyInstance, `127.6.${i}.1`, 'mallory')).statusCode)
  t.strictSame(statuses, [...Array(10).fill(400), ...Array(6).fill(429)])
})

t.test('the global budget alerts once across both instances', async t => {
  const { apps, events } = await twoInstances(t)
  for (let i = 0; i < 24; i++) t.equal((await guess(apps[i % 2] as FastifyInstance, `127.7.${i}.1`, `bot-${i}`)).statusCode, 400)
  const alerts = events.filter(e => e.type === 'verification.attack_suspected')
  t.equal(alerts.length, 1)
  t.match(alerts[0], { failures: 21, max: 20 })
})

t.test('client secrets: counted first, refunded on success, across instances', async t => {
  const { apps } = await twoInstances(t)
  const attempt = async (i: number, secret: string) => await apps[i % 2]!.inject({
    method: 'POST', url: '/device_authorization', remoteAddress: `127.8.${i}.1`, headers: form, payload: `client_id=cli&client_secret=${secret}`
  })
  for (let i = 0; i < 20; i++) t.equal((await attempt(i, 'the-right-secret')).statusCode, 200, 'successes are refunded: never blocked')
  const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(i, `guess-${i}`)))
  t.equal(burst.filter(r => r.json().error_description === 'client authentication failed').length, 10, 'a burst: 10 compared')
  const blocked = await attempt(99, 'the-right-secret')
  t.equal(blocked.json().error, 'invalid_client')
  t.ok(Number(blocked.headers['retry-after']) > 0)
})
