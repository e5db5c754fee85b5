// RFC 6749 §2.3.1: endpoints that check client passwords MUST be protected against brute force.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MemoryStore } from '@device-grant/store-memory'
import { StoreUnavailableError } from '../src/index.js'
import { AWKWARD_SECRET, authorize, basic, buildApp, DEVICE_CODE_GRANT_TYPE, form } from './helpers.js'

/** A POST from `ip` (light-my-request's `remoteAddress` is what `request.ip` reads). */
async function from (app: FastifyInstance, ip: string, url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress: ip,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(params)
  })
}

const tokenParams = { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: 'x'.repeat(43) }

function isBlocked (t: Test, res: LightMyRequestResponse, status = 400) {
  t.equal(res.statusCode, status)
  t.equal(res.json().error, 'invalid_client')
  t.match(res.json().error_description, /too many failed client authentications/)
  t.ok(Number(res.headers['retry-after']) > 0, `Retry-After: ${String(res.headers['retry-after'])}`)
}

t.test('on by default: the 11th guess of a client secret is refused without checking it', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  for (let i = 1; i <= 10; i++) {
    const res = await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: `guess-${i}` })
    t.equal(res.statusCode, 400)
    t.equal(res.json().error_description, 'client authentication failed', 'an ordinary failure')
    t.equal(res.headers['retry-after'] === undefined, i < 10, i < 10 ? 'no Retry-After yet' : 'the 10th failure says when to come back')
  }
  // From another IP too, and with the right secret: a guess that happens to be right gains nothing.
  const right = await from(app, '10.0.0.2', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })
  isBlocked(t, right)
  const wrong = await from(app, '10.0.0.2', '/device_authorization', { client_id: 'cli', client_secret: 'guess-11' })
  isBlocked(t, wrong)
  t.strictSame(right.json(), wrong.json(), 'right and wrong secrets get the same answer while blocked')
  t.equal(right.headers['retry-after'], wrong.headers['retry-after'])
  t.equal(right.headers['retry-after'], '600', 'until the 10-minute window ends (the test clock is on a window boundary)')
  clock.advance(600)
  t.equal((await from(app, '10.0.0.2', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })).statusCode, 200, 'the next window starts afresh')
})

t.test('both endpoints share the count; Basic gets 401 with its challenge', async t => {
  const { app } = await buildApp({ clientAuthRateLimit: { perClient: { max: 3, window: 60 } } })
  t.after(() => app.close())
  const auth = await authorize(app, { client_id: 'cli' }, { authorization: basic('cli', AWKWARD_SECRET) })
  t.equal((await from(app, '10.0.0.1', '/token', tokenParams, { authorization: basic('cli', 'nope') })).statusCode, 401)
  t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: 'nope' })).statusCode, 400)
  const third = await from(app, '10.0.0.1', '/token', { ...tokenParams, client_id: 'cli', client_secret: 'nope' })
  t.equal(third.statusCode, 400)
  t.equal(third.headers['retry-after'], '60', 'the failure that uses up the budget carries Retry-After')
  const blocked = await from(app, '10.0.0.1', '/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: auth.device_code }, { authorization: basic('cli', AWKWARD_SECRET) })
  isBlocked(t, blocked, 401)
  t.equal(blocked.headers['www-authenticate'], 'Basic realm="device-grant", charset="UTF-8"')
  t.equal(blocked.headers['cache-control'], 'no-store')
  t.equal(blocked.headers.pragma, 'no-cache')
  isBlocked(t, await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET }))
  t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' })).statusCode, 200, 'other clients are not affected')
})

t.test('per IP: many clients guessed from one address; public clients from there still work', async t => {
  const { app } = await buildApp({ clientAuthRateLimit: { perIp: { max: 5, window: 60 } } })
  t.after(() => app.close())
  const ids = ['cli', 'basic-only', 'post-only', 'no-such-client', 'tv']
  for (const id of ids) {
    const res = await from(app, '10.0.0.9', '/device_authorization', { client_id: id, client_secret: 'guess' })
    t.equal(res.json().error, 'invalid_client', `${id}: a wrong (or pointless) secret fails`)
  }
  isBlocked(t, await from(app, '10.0.0.9', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' }))
  t.equal((await from(app, '10.0.0.9', '/device_authorization', { client_id: 'tv' })).statusCode, 200, 'no secret, no guess: a public client is not checked')
  t.equal((await from(app, '10.0.0.8', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' })).statusCode, 200, 'another address is fine')
})

t.test('what is and is not counted', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const hits: Array<{ key: string, increment: number }> = []
  const hit = store.hit.bind(store)
  store.hit = async (key, window) => {
    hits.push({ key, increment: window.increment })
    return await hit(key, window)
  }
  const { app } = await buildApp({ store, clientAuthRateLimit: { perClient: { max: 2, window: 60 }, perIp: { max: 2, window: 60 } } })
  t.after(() => app.close())
  const auth = await authorize(app)
  t.equal(hits.length, 0, 'a public client costs no counter access on authorization')
  for (let i = 0; i < 5; i++) await from(app, '10.0.0.1', '/token', { ...tokenParams, device_code: auth.device_code, client_id: 'tv' })
  t.equal(hits.length, 0, '...nor on polls')
  for (let i = 0; i < 5; i++) {
    t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })).statusCode, 200)
  }
  t.ok(hits.every(h => h.increment === 1 || h.increment === -1), 'counted first (+1)...')
  t.equal(hits.filter(h => h.increment === -1).length, hits.filter(h => h.increment === 1).length, '...and refunded (-1) on success')
  t.strictSame([...new Set(hits.map(h => h.key))].sort(), ['client-auth:client:cli', 'client-auth:ip:10.0.0.1'])
  hits.length = 0
  // Failures that are not guesses: no secret at all, a malformed header, two methods at once.
  await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli' })
  await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli' }, { authorization: 'Basic !!!' })
  await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: 'x' }, { authorization: basic('cli', 'x') })
  await from(app, '10.0.0.1', '/device_authorization', { client_id: 'other' }, { authorization: basic('cli', 'x') })
  t.strictSame(hits, [], 'none of these touches a counter')
  t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })).statusCode, 200, 'and none of them blocked anything')
  // An unknown client counts against the IP only: no counter is made up for an id nobody registered.
  await from(app, '10.0.0.2', '/device_authorization', { client_id: 'ghost', client_secret: 'x' })
  t.notOk(hits.some(h => h.key.includes('ghost')), 'no per-client counter for an unknown id')
})

t.test('the count lives in the store, so it holds across instances', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const one = await buildApp({ store, clientAuthRateLimit: { perClient: { max: 2, window: 60 } } })
  const two = await buildApp({ store, clientAuthRateLimit: { perClient: { max: 2, window: 60 } } })
  t.after(() => Promise.all([one.app.close(), two.app.close()]))
  await from(one.app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: 'a' })
  await from(two.app, '10.0.0.2', '/device_authorization', { client_id: 'cli', client_secret: 'b' })
  isBlocked(t, await from(one.app, '10.0.0.3', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET }))
})

t.test('a store without hit() counts in this process', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  Object.defineProperty(store, 'hit', { value: undefined })
  const { app } = await buildApp({ store, clientAuthRateLimit: { perClient: { max: 1, window: 60 } } })
  t.after(() => app.close())
  await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: 'a' })
  isBlocked(t, await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET }))
})

t.test('clientAuthRateLimit: false turns it off', async t => {
  const { app } = await buildApp({ clientAuthRateLimit: false })
  t.after(() => app.close())
  for (let i = 0; i < 60; i++) await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: `guess-${i}` })
  t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })).statusCode, 200)
})

t.test('a counter that cannot be reached is a 503, never a free pass', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  store.hit = async () => { throw new StoreUnavailableError('down', { retryAfter: 3 }) }
  const { app } = await buildApp({ store })
  t.after(() => app.close())
  const res = await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'temporarily_unavailable')
  t.equal(res.headers['retry-after'], '3')
  t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'tv' })).statusCode, 200, 'public clients never needed it')
})

t.test('the mounted token handler is protected too', async t => {
  const { app } = await buildApp({ clientAuthRateLimit: { perClient: { max: 1, window: 60 } } }, app => {
    app.register(async instance => {
      instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)))
      })
      instance.post('/oauth/token', async (request, reply) => await instance.deviceGrant.tokenHandler(request, reply))
    })
  })
  t.after(() => app.close())
  await from(app, '10.0.0.1', '/oauth/token', { ...tokenParams, client_id: 'cli', client_secret: 'a' })
  isBlocked(t, await from(app, '10.0.0.1', '/oauth/token', { ...tokenParams, client_id: 'cli', client_secret: AWKWARD_SECRET }))
})

t.test('the option is validated', async t => {
  const bad: Array<[unknown, RegExp]> = [
    ['yes', /clientAuthRateLimit must be an object or false/],
    [{ perClient: { max: 0, window: 60 } }, /clientAuthRateLimit\.perClient needs an integer max >= 1/],
    [{ perIp: { max: 5, window: -1 } }, /clientAuthRateLimit\.perIp needs an integer max >= 1 and a window in seconds > 0/]
  ]
  for (const [value, message] of bad) await t.rejects(buildApp({ clientAuthRateLimit: value as never }), message)
})

t.test('a burst of simultaneous guesses is counted before any secret is compared', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const burst = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    from(app, `127.0.1.${i + 1}`, '/device_authorization', { client_id: 'cli', client_secret: `guess-${i}` })))
  const compared = burst.filter(r => r.json().error_description === 'client authentication failed')
  t.equal(compared.length, 10, 'exactly the 10 the window allows were compared')
  for (const res of burst.filter(r => !compared.includes(r))) isBlocked(t, res)
})

t.test('across two instances on one store, from many addresses: 10 guesses per client in all', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const one = await buildApp({ store })
  const two = await buildApp({ store })
  t.after(() => Promise.all([one.app.close(), two.app.close()]))
  const answers: string[] = []
  for (let i = 0; i < 16; i++) {
    const res = await from(i % 2 === 0 ? one.app : two.app, `127.0.2.${i + 1}`, '/token', { ...tokenParams, client_id: 'cli', client_secret: `guess-${i}` })
    answers.push(res.json().error_description)
  }
  t.equal(answers.filter(a => a === 'client authentication failed').length, 10)
  t.ok(answers.slice(10).every(a => /too many failed/.test(a)))
})

t.test('per address, IPv6 counts by /64 and IPv4-mapped as IPv4', async t => {
  const { app } = await buildApp({ clientAuthRateLimit: { perIp: { max: 3, window: 60 } } })
  t.after(() => app.close())
  for (let i = 1; i <= 3; i++) await from(app, `2001:db8:5:6::${i}`, '/device_authorization', { client_id: 'no-such-client', client_secret: 'x' })
  isBlocked(t, await from(app, '2001:db8:5:6:ffff::1', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' }))
  t.equal((await from(app, '2001:db8:5:7::1', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' })).statusCode, 200, 'the next /64 is another address')
  for (let i = 1; i <= 3; i++) await from(app, '::ffff:192.0.2.9', '/device_authorization', { client_id: 'no-such-client', client_secret: 'x' })
  isBlocked(t, await from(app, '192.0.2.9', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' }))
})

t.test('ipv6Prefix widens the group for client secrets too', async t => {
  const { app } = await buildApp({ ipv6Prefix: 56, clientAuthRateLimit: { perIp: { max: 2, window: 60 } } })
  t.after(() => app.close())
  await from(app, '2001:db8:5:610::1', '/device_authorization', { client_id: 'no-such-client', client_secret: 'x' })
  await from(app, '2001:db8:5:620::1', '/device_authorization', { client_id: 'no-such-client', client_secret: 'x' })
  isBlocked(t, await from(app, '2001:db8:5:6ff::1', '/device_authorization', { client_id: 'post-only', client_secret: 'post-secret' }))
})

t.test('a store that refuses refunds: the success still succeeds, the attempt stays counted, and the log says why', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  const hit = store.hit.bind(store)
  // As a store written before the contract allowed negative increments.
  store.hit = async (key, window) => {
    if (window.increment < 0) throw new TypeError('increment must be an integer >= 0')
    return await hit(key, window)
  }
  const lines: string[] = []
  const { app } = await buildApp({ store, clientAuthRateLimit: { perClient: { max: 2, window: 60 } } }, undefined, lines)
  t.after(() => app.close())
  for (let i = 0; i < 2; i++) t.equal((await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })).statusCode, 200)
  isBlocked(t, await from(app, '10.0.0.1', '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET }))
  t.ok(lines.some(l => l.includes('a rate-limit refund failed')))
})
