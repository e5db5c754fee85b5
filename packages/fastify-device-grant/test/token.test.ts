import t from 'tap'
import { AWKWARD_SECRET, authorize, basic, buildApp, DEVICE_CODE_GRANT_TYPE, poll, post } from './helpers.js'

const errorOf = (res: { json: () => { error: string } }) => res.json().error

t.test('a poll before the user acts is authorization_pending, uncached', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await poll(app, (await authorize(app)).device_code)
  t.equal(res.statusCode, 400)
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'])
  t.equal(errorOf(res), 'authorization_pending')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  t.notOk(res.headers['www-authenticate'])
})

t.test('an approved grant is redeemed once for the token from issueToken', async t => {
  const { app, issued } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app, { client_id: 'tv', scope: 'openid profile' })
  t.equal((await app.deviceGrant.approve(userCode, 'alice')).ok, true)
  const res = await poll(app, deviceCode)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  t.same(res.json(), { access_token: 'at-1', token_type: 'Bearer', expires_in: 3600 }, 'scope omitted: it is what was asked')
  t.equal(issued.length, 1)
  t.equal(issued[0]?.subject, 'alice')
  t.equal(issued[0]?.scope, 'openid profile')
  t.equal(issued[0]?.client.clientId, 'tv')
})

t.test('a replayed device code is invalid_grant and mints nothing', async t => {
  const { app, issued } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  t.equal((await poll(app, deviceCode)).statusCode, 200)
  const replay = await poll(app, deviceCode)
  t.equal(replay.statusCode, 400)
  t.equal(errorOf(replay), 'invalid_grant')
  t.equal(issued.length, 1)
})

t.test('50 concurrent polls of an approved grant yield exactly one token', async t => {
  const { app, issued } = await buildApp({
    issueToken: async input => {
      await new Promise(resolve => setTimeout(resolve, 5))
      return { access_token: `at-${input.subject}`, token_type: 'Bearer' }
    }
  })
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  const results = await Promise.all(Array.from({ length: 50 }, () => poll(app, deviceCode)))
  t.equal(results.filter(r => r.statusCode === 200).length, 1, 'one winner')
  t.equal(results.filter(r => errorOf(r) === 'invalid_grant').length, 49, 'every loser gets invalid_grant')
  t.equal(issued.length, 0, 'the overridden issueToken ran instead of the recording one')
})

t.test('issueToken runs only for the winner of the claim', async t => {
  let calls = 0
  const { app } = await buildApp({ issueToken: () => { calls++; return { access_token: 'x', token_type: 'Bearer' } } })
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await poll(app, deviceCode)
  t.equal(calls, 0, 'not for a pending grant')
  await app.deviceGrant.approve(userCode, 'alice')
  await Promise.all(Array.from({ length: 20 }, () => poll(app, deviceCode)))
  t.equal(calls, 1)
})

t.test('a denied grant answers access_denied on every poll', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.deny(userCode, 'alice')
  for (let i = 0; i < 3; i++) {
    t.equal(errorOf(await poll(app, deviceCode)), 'access_denied')
    clock.advance(1)
  }
})

t.test('an expired grant is expired_token even though nobody acted', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, expires_in: expiresIn } = await authorize(app)
  clock.advance(expiresIn)
  t.equal(errorOf(await poll(app, deviceCode)), 'expired_token')
})

t.test('expiry beats approval: an approved but expired grant mints nothing', async t => {
  const { app, clock, issued } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  clock.advance(600)
  t.equal(errorOf(await poll(app, deviceCode)), 'expired_token')
  t.equal(issued.length, 0)
})

t.test('expiry beats denial and consumption', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const denied = await authorize(app)
  const used = await authorize(app)
  await app.deviceGrant.deny(denied.user_code, 'alice')
  await app.deviceGrant.approve(used.user_code, 'alice')
  t.equal((await poll(app, used.device_code)).statusCode, 200)
  clock.advance(600)
  t.equal(errorOf(await poll(app, denied.device_code)), 'expired_token')
  t.equal(errorOf(await poll(app, used.device_code)), 'expired_token')
})

t.test('the last second before expiry still redeems', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  clock.advance(599.999)
  t.equal((await poll(app, deviceCode)).statusCode, 200)
})

t.test('an unknown device code is invalid_grant', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, 'not-a-real-code')), 'invalid_grant')
  t.equal(errorOf(await poll(app, 'x'.repeat(5000))), 'invalid_grant')
})

t.test("another client's device code is invalid_grant and does not touch the grant", async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  t.equal(errorOf(await poll(app, deviceCode, { client_id: 'other-tv' })), 'invalid_grant')
  t.equal(errorOf(await poll(app, deviceCode)), 'authorization_pending', "the thief's poll did not start the owner's interval")
  clock.advance(5)
  await app.deviceGrant.approve(userCode, 'alice')
  t.equal(errorOf(await poll(app, deviceCode, { client_id: 'other-tv' })), 'invalid_grant', 'not even once approved')
  t.equal((await poll(app, deviceCode)).statusCode, 200)
})

t.test('the first poll is never slow_down, even right after authorization', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, (await authorize(app)).device_code)), 'authorization_pending')
})

t.test('a poll sooner than the interval is slow_down', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  await poll(app, deviceCode)
  clock.advance(2)
  t.equal(errorOf(await poll(app, deviceCode)), 'slow_down')
})

t.test('slow_down raises the required interval by 5 seconds each time', async t => {
  const { app, clock } = await buildApp({ pollLeeway: 0 })
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  await poll(app, deviceCode) // baseline at 0
  clock.advance(1)
  t.equal(errorOf(await poll(app, deviceCode)), 'slow_down') // now 10 s
  clock.advance(1)
  t.equal(errorOf(await poll(app, deviceCode)), 'slow_down') // now 15 s; 2 s since the baseline
  clock.advance(12) // 14 s since the baseline: still too soon for 15 s
  t.equal(errorOf(await poll(app, deviceCode)), 'slow_down') // now 20 s
  clock.advance(6) // 20 s since the baseline
  t.equal(errorOf(await poll(app, deviceCode)), 'authorization_pending')
})

t.test('a client adding 5 s after each slow_down always gets out of it', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  // A conforming client, knocked off its cadence by an immediate network retry, with jitter after.
  let interval = 5
  const jitter = [0, 0.3, -0.7, 0.2, -0.9, 0.6, -0.4, 0, 0.8, -0.5, 0.1, -0.8]
  const answers: string[] = [errorOf(await poll(app, deviceCode))]
  clock.advance(0.5)
  for (const j of jitter) {
    const error = errorOf(await poll(app, deviceCode))
    answers.push(error)
    if (error === 'slow_down') interval += 5
    clock.advance(interval + j)
  }
  t.same(answers.slice(0, 2), ['authorization_pending', 'slow_down'])
  t.same(answers.slice(2), Array(answers.length - 2).fill('authorization_pending'), `never throttled again: ${answers.join(',')}`)
})

t.test('a client polling at exactly the interval, with jitter, is never throttled', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  const jitter = [0, -0.4, 0.3, -0.9, 0.5, -0.2, 0, -0.6, 0.8, -0.95, 0.1, 0]
  for (const j of jitter) {
    t.equal(errorOf(await poll(app, deviceCode)), 'authorization_pending')
    clock.advance(5 + j)
  }
})

t.test('an approved grant redeems however fast the device polls', async t => {
  const { app, clock } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await poll(app, deviceCode)
  clock.advance(0.1)
  await app.deviceGrant.approve(userCode, 'alice')
  t.equal((await poll(app, deviceCode)).statusCode, 200)
})

t.test('a denied grant is access_denied however fast the device polls', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await poll(app, deviceCode)
  await app.deviceGrant.deny(userCode, 'alice')
  t.equal(errorOf(await poll(app, deviceCode)), 'access_denied')
})

t.test('a narrowed grant reports the scope it grants', async t => {
  const { app, issued } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app, { client_id: 'tv', scope: 'read write' })
  t.equal((await app.deviceGrant.approve(userCode, 'alice', { grantedScope: 'read' })).ok, true)
  const res = await poll(app, deviceCode)
  t.equal(res.json().scope, 'read')
  t.equal(issued[0]?.scope, 'read')
})

t.test('approve takes the granted scope as an array, like the scopes options', async t => {
  const { app, issued } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app, { client_id: 'tv', scope: 'read write' })
  t.equal((await app.deviceGrant.approve(userCode, 'alice', { grantedScope: ['write'] })).ok, true)
  t.equal((await poll(app, deviceCode)).json().scope, 'write')
  t.equal(issued[0]?.scope, 'write')
})

t.test('a missing grant_type is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/token', { client_id: 'tv', device_code: 'x' })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('another grant type is unsupported_grant_type', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/token', { grant_type: 'authorization_code', client_id: 'tv', code: 'x' })
  t.equal(res.statusCode, 400)
  t.equal(errorOf(res), 'unsupported_grant_type')
})

t.test('a missing device_code is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/token', { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv' })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('a repeated device_code is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  const res = await post(app, '/token', { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: [deviceCode, deviceCode] })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('an empty device_code counts as missing', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/token', { grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: '' })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('a client not allowed the device grant is unauthorized_client at the token endpoint', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, 'whatever', { client_id: 'web' })), 'unauthorized_client')
})

t.test('a confidential client polls with Basic and an awkward secret', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const auth = { authorization: basic('cli', AWKWARD_SECRET) }
  const { device_code: deviceCode, user_code: userCode } = await authorize(app, {}, auth)
  await app.deviceGrant.approve(userCode, 'bob')
  const res = await poll(app, deviceCode, {}, auth)
  t.equal(res.statusCode, 200)
})

t.test('Basic plus a client_id in the body that matches is accepted', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const auth = { authorization: basic('cli', AWKWARD_SECRET) }
  const { device_code: deviceCode } = await authorize(app, { client_id: 'cli' }, auth)
  t.equal(errorOf(await poll(app, deviceCode, { client_id: 'cli' }, auth)), 'authorization_pending')
})

t.test('Basic plus a different client_id in the body is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await poll(app, 'x', { client_id: 'tv' }, { authorization: basic('cli', AWKWARD_SECRET) })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('a wrong secret via Basic is 401 invalid_client with a Basic challenge', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await poll(app, 'x', {}, { authorization: basic('cli', 'wrong') })
  t.equal(res.statusCode, 401)
  t.equal(errorOf(res), 'invalid_client')
  t.match(res.headers['www-authenticate'], /^Basic /)
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('a malformed Basic header is 401 invalid_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  for (const authorization of ['Basic', 'Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'Basic ' + Buffer.from('%zz:x').toString('base64')]) {
    const res = await poll(app, 'x', {}, { authorization })
    t.equal(res.statusCode, 401, authorization)
    t.equal(errorOf(res), 'invalid_client')
  }
})

t.test('a wrong secret in the body is 400 invalid_client without a challenge', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await poll(app, 'x', { client_id: 'cli', client_secret: 'wrong' })
  t.equal(res.statusCode, 400)
  t.equal(errorOf(res), 'invalid_client')
  t.notOk(res.headers['www-authenticate'])
})

t.test('Basic and client_secret together are invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await poll(app, 'x', { client_secret: AWKWARD_SECRET }, { authorization: basic('cli', AWKWARD_SECRET) })
  t.equal(res.statusCode, 400)
  t.equal(errorOf(res), 'invalid_request')
})

t.test('a client restricted to Basic cannot use client_secret_post, and the reverse', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, 'x', { client_id: 'basic-only', client_secret: 'basic-secret' })), 'invalid_client')
  t.equal((await poll(app, 'x', {}, { authorization: basic('post-only', 'post-secret') })).statusCode, 401)
})

t.test('a public client presenting a secret is invalid_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, 'x', { client_id: 'tv', client_secret: 'anything' })), 'invalid_client')
})

t.test('an unknown client is invalid_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  t.equal(errorOf(await poll(app, 'x', { client_id: 'nobody' })), 'invalid_client')
})

t.test('a client_secret in the query string is refused', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: `/token?client_secret=${encodeURIComponent(AWKWARD_SECRET)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT_TYPE)}&client_id=cli&device_code=x`
  })
  t.equal(errorOf(res), 'invalid_request')
})

t.test('error descriptions never hold a quote or a backslash', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv', scope: 'read "x\\"' })
  t.match(res.json().error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/)
})

t.test('GET on the token endpoint is 405 invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/token' })
  t.equal(res.statusCode, 405)
  t.equal(errorOf(res), 'invalid_request')
})

t.test('malformed form encoding never causes a 500', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  for (const payload of ['%', '%zz=%zz', '&&&==&', 'grant_type=%E0%A4%A', '\u0000=\u0000', 'a'.repeat(10000)]) {
    const res = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload.slice(0, 20)))
    t.ok(res.json().error)
  }
})

t.test('a store that cannot answer gives 503 temporarily_unavailable with Retry-After', async t => {
  const { StoreUnavailableError } = await import('../src/index.js')
  const { MemoryStore } = await import('@device-grant/store-memory')
  const store = new MemoryStore({ sweepInterval: 0 })
  let down = false
  const original = store.recordPoll.bind(store)
  store.recordPoll = async (...args) => {
    if (down) throw new StoreUnavailableError('connection refused', { retryAfter: 3 })
    return original(...args)
  }
  const { app } = await buildApp({ store })
  t.after(() => app.close())
  const { device_code: deviceCode } = await authorize(app)
  down = true
  const res = await poll(app, deviceCode)
  t.equal(res.statusCode, 503)
  t.equal(errorOf(res), 'temporarily_unavailable')
  t.equal(res.headers['retry-after'], '3')
  down = false
  t.equal(errorOf(await poll(app, deviceCode)), 'authorization_pending', 'recovers when the store does')
})

t.test('an issueToken that throws gives a logged 500 server_error, not a crash', async t => {
  const { app } = await buildApp({ issueToken: () => { throw new Error('signing key missing') } })
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  const res = await poll(app, deviceCode)
  t.equal(res.statusCode, 500)
  t.same(res.json(), { error: 'server_error', error_description: 'the server could not complete the request' })
})

t.test('an issueToken returning no access_token is a server_error', async t => {
  const { app } = await buildApp({ issueToken: () => ({ token_type: 'Bearer' }) as never })
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  t.equal((await poll(app, deviceCode)).statusCode, 500)
})

t.test('issueToken may refuse a user locked since approving, with an OAuth error of its own', async t => {
  const { OAuthError } = await import('../src/index.js')
  const { app } = await buildApp({ issueToken: () => { throw new OAuthError('invalid_grant', 'the account is locked') } })
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  await app.deviceGrant.approve(userCode, 'alice')
  const res = await poll(app, deviceCode)
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_grant', error_description: 'the account is locked' })
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(errorOf(await poll(app, deviceCode)), 'invalid_grant', 'the grant stays consumed')
})
