// The example on a Redis that goes away: the device endpoints answer a quick 503 the device can
// retry (RFC 6749 temporarily_unavailable), the pages a 503 page, nothing hangs, and the same
// app works again once Redis is back.
import t, { type Test } from 'tap'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'
import { eventually, freePort, GRANT, hidden, RedisServer } from './helpers.js'

t.setTimeout(120_000)

// An outage answer must come this fast: the client's command timeout is 1 s, the store's 2 s.
const BOUND_MS = 3000
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }

const redis = new RedisServer(await freePort())
await redis.start()
t.teardown(() => redis.destroy())
const app = await buildApp(readConfig({ DEVICE_GRANT_STORE: 'redis', REDIS_URL: redis.url, DEVICE_GRANT_INTERVAL: '1' }))
t.teardown(() => app.close())

/** A browser's worth of cookies, for inject. */
function injectBrowser (app: FastifyInstance) {
  const jar = new Map<string, string>()
  return async (options: InjectOptions): Promise<LightMyRequestResponse> => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await app.inject({ ...options, headers: { ...options.headers, ...(cookie !== '' && { cookie }) } })
    for (const c of res.cookies as Array<{ name: string, value: string }>) jar.set(c.name, c.value)
    return res
  }
}

const user = injectBrowser(app)
const loginPage = await user({ url: '/login' })
await user({ method: 'POST', url: '/login', headers: formHeaders, payload: new URLSearchParams({ username: 'demo', password: 'demo', _csrf: hidden(loginPage.body, '_csrf') }).toString() })

const authorize = async () => await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })
const poll = async (deviceCode: string) => await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: deviceCode }).toString() })
const confirmPage = async (userCode: string) => await user({ url: `/device?user_code=${encodeURIComponent(userCode)}` })
const decide = async (userCode: string, csrfToken: string) => await user({ method: 'POST', url: '/device', headers: formHeaders, payload: new URLSearchParams({ user_code: userCode, decision: 'approve', csrf_token: csrfToken }).toString() })

async function timed<T> (fn: () => Promise<T>): Promise<{ ms: number, res: T }> {
  const start = performance.now()
  const res = await fn()
  return { ms: performance.now() - start, res }
}

/** The OAuth endpoints' outage answer: 503 temporarily_unavailable, Retry-After, no-store, fast. */
function oauthUnavailable (t: Test, { ms, res }: { ms: number, res: LightMyRequestResponse }, what: string) {
  t.equal(res.statusCode, 503, `${what}: 503`)
  t.match(res.json(), { error: 'temporarily_unavailable', error_description: String }, `${what}: temporarily_unavailable`)
  t.match(res.headers['retry-after'], /^\d+$/, `${what}: Retry-After`)
  t.match(res.headers['cache-control'], 'no-store', `${what}: no-store`)
  t.ok(ms < BOUND_MS, `${what}: answered in ${Math.round(ms)} ms`)
}

/** The pages' outage answer: a 503 HTML page with Retry-After. */
function pageUnavailable (t: Test, { ms, res }: { ms: number, res: LightMyRequestResponse }, what: string) {
  t.equal(res.statusCode, 503, `${what}: 503`)
  t.match(res.headers['content-type'], 'text/html', `${what}: a page`)
  t.match(res.headers['retry-after'], /^\d+$/, `${what}: Retry-After`)
  t.ok(ms < BOUND_MS, `${what}: answered in ${Math.round(ms)} ms`)
}

/** The whole flow through the app: codes, confirm page, approve, token. */
async function fullFlow (t: Test) {
  const auth = await authorize()
  t.equal(auth.statusCode, 200, 'device_authorization')
  const { device_code: deviceCode, user_code: userCode } = auth.json()
  t.equal((await poll(deviceCode)).json().error, 'authorization_pending')
  const confirm = await confirmPage(userCode)
  t.equal(confirm.statusCode, 200, 'confirm page')
  t.match((await decide(userCode, hidden(confirm.body, 'csrf_token'))).body, 'Device connected')
  const token = await poll(deviceCode)
  t.equal(token.statusCode, 200, 'the token')
  t.equal(token.json().token_type, 'Bearer')
}

t.test('before the outage, the flow works', fullFlow)

t.test('Redis frozen (nothing answers): 503 within the timeout, then it answers again', async t => {
  const auth = (await authorize()).json()
  redis.pause()
  try {
    oauthUnavailable(t, await timed(() => poll(auth.device_code)), 'POST /token')
    oauthUnavailable(t, await timed(authorize), 'POST /device_authorization')
    pageUnavailable(t, await timed(() => confirmPage(auth.user_code)), 'GET /device?user_code=')
  } finally {
    redis.resume()
  }
  t.equal((await eventually(async () => {
    const res = await poll(auth.device_code)
    if (res.statusCode === 503) throw new Error('still 503')
    return res
  })).json().error, 'authorization_pending', 'the grant is still there')
})

t.test('Redis killed: 503 at once on every endpoint and page, and the app recovers when it restarts', async t => {
  const auth = (await authorize()).json()
  const confirm = await confirmPage(auth.user_code)
  t.equal(confirm.statusCode, 200)
  await redis.kill()

  oauthUnavailable(t, await timed(() => poll(auth.device_code)), 'POST /token')
  oauthUnavailable(t, await timed(authorize), 'POST /device_authorization')
  pageUnavailable(t, await timed(() => confirmPage(auth.user_code)), 'GET /device?user_code=')
  pageUnavailable(t, await timed(() => decide(auth.user_code, hidden(confirm.body, 'csrf_token'))), 'POST /device')
  t.equal((await app.inject('/.well-known/oauth-authorization-server')).statusCode, 200, 'the metadata needs no store')

  // Same port, same app: ioredis reconnects by itself. The restarted Redis kept nothing (no
  // persistence), so the old grant is gone and the device starts over.
  await redis.start()
  const back = await eventually(async () => {
    const res = await authorize()
    if (res.statusCode !== 200) throw new Error(`still ${res.statusCode}`)
    return res
  })
  t.equal(back.statusCode, 200, 'device_authorization works again')
  t.equal((await poll(auth.device_code)).json().error, 'invalid_grant', 'the grant lost with Redis is unknown')
  await t.test('the whole flow works again', fullFlow)
})
