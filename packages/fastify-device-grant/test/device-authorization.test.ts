import t from 'tap'
import { AWKWARD_SECRET, authorize, basic, buildApp, post } from './helpers.js'

t.test('a public client gets every required field, as JSON, uncached', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete'])
  t.match(body.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  t.equal(body.verification_uri, 'https://auth.example.com/device')
  t.equal(body.verification_uri_complete, `https://auth.example.com/device?user_code=${encodeURIComponent(body.user_code)}`)
  t.notMatch(body.verification_uri, body.user_code, 'verification_uri never carries the user code')
  t.equal(body.expires_in, 600)
  t.equal(body.interval, 5)
  t.ok(Buffer.from(body.device_code, 'base64url').length >= 32, 'device_code carries at least 256 bits')
})

t.test('the configured lifetime and interval are advertised', async t => {
  const { app } = await buildApp({ expiresIn: 900, interval: 7 })
  t.after(() => app.close())
  const body = await authorize(app)
  t.equal(body.expires_in, 900)
  t.equal(body.interval, 7)
})

t.test('the device code is stored only as its hash', async t => {
  const { app, store } = await buildApp()
  t.after(() => app.close())
  const { device_code: deviceCode, user_code: userCode } = await authorize(app)
  const record = await store.findByUserCode(userCode.replace('-', ''))
  t.ok(record)
  t.notOk(JSON.stringify(record).includes(deviceCode), 'the record does not hold the device code')
  t.equal(await store.findByDeviceCodeHash(deviceCode), undefined)
})

t.test('device info is recorded for the confirm page', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const { user_code: userCode } = await authorize(app, { client_id: 'tv' }, { 'user-agent': 'SmartTV/1.0' })
  const grant = await app.deviceGrant.lookup(userCode)
  t.equal(grant?.userAgent, 'SmartTV/1.0')
  t.equal(grant?.ip, '127.0.0.1')
})

t.test('no scope gives the client default scope', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const grant = await app.deviceGrant.lookup((await authorize(app)).user_code)
  t.equal(grant?.scope, 'read')
})

t.test('an empty scope behaves like no scope', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const grant = await app.deviceGrant.lookup((await authorize(app, { client_id: 'tv', scope: '' })).user_code)
  t.equal(grant?.scope, 'read')
})

t.test('a client without a default gets the server default scope', async t => {
  const { app } = await buildApp({ defaultScope: ['basic'] })
  t.after(() => app.close())
  const grant = await app.deviceGrant.lookup((await authorize(app, { client_id: 'other-tv' })).user_code)
  t.equal(grant?.scope, 'basic')
})

t.test('an allowed scope is kept, deduplicated', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const grant = await app.deviceGrant.lookup((await authorize(app, { client_id: 'tv', scope: 'openid  profile openid' })).user_code)
  t.equal(grant?.scope, 'openid profile')
})

t.test('a scope outside the client allowance is invalid_scope', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv', scope: 'read admin' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_scope')
})

t.test('a scope with a forbidden character is invalid_scope', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'other-tv', scope: 'read "quoted"' })
  t.equal(res.json().error, 'invalid_scope')
})

t.test('unknown parameters are ignored', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv', foo: 'bar', audience: 'x' })
  t.equal(res.statusCode, 200)
})

for (const name of ['scope', 'client_id']) {
  t.test(`a repeated ${name} is invalid_request`, async t => {
    const { app } = await buildApp()
    t.after(() => app.close())
    const params = { client_id: 'tv', scope: 'read', [name]: name === 'scope' ? ['read', 'write'] : ['tv', 'tv'] }
    const res = await post(app, '/device_authorization', params)
    t.equal(res.statusCode, 400)
    t.equal(res.json().error, 'invalid_request')
    t.equal(res.headers['cache-control'], 'no-store')
  })
}

t.test('a client not allowed the device grant is unauthorized_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'web' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'unauthorized_client')
})

t.test('a confidential client authenticates with Basic, awkward secret included', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', {}, { authorization: basic('cli', AWKWARD_SECRET) })
  t.equal(res.statusCode, 200)
})

t.test('a confidential client authenticates with client_secret_post', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'cli', client_secret: AWKWARD_SECRET })
  t.equal(res.statusCode, 200)
})

t.test('a confidential client sending only client_id is invalid_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'cli' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_client')
  t.notOk(res.headers['www-authenticate'], 'no challenge on a 400')
})

t.test('a request with no client at all is invalid_client', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', {})
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_client')
})

t.test('an empty client_id counts as missing', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: '' })
  t.equal(res.json().error, 'invalid_client')
})

t.test('GET is refused with 405 and an OAuth body', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/device_authorization?client_id=tv' })
  t.equal(res.statusCode, 405)
  t.equal(res.headers.allow, 'POST')
  t.equal(res.json().error, 'invalid_request')
  t.equal(res.headers['cache-control'], 'no-store')
})

t.test('a JSON body is invalid_request, not a 415 or a 500', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/json' }, payload: '{"client_id":"tv"}' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
  t.equal(res.headers.pragma, 'no-cache')
})

t.test('a body with no content type is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/device_authorization', payload: 'client_id=tv', headers: { 'content-type': '' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
})

t.test('an oversized body is invalid_request', async t => {
  const { app } = await buildApp({ bodyLimit: 1024 })
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv', junk: 'x'.repeat(4096) })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
  t.match(res.json().error_description, /too large/)
})

t.test('a form with a charset other than UTF-8 is invalid_request', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv' }, { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' })
  t.equal(res.json().error, 'invalid_request')
})

t.test('a form with charset=UTF-8 is accepted', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await post(app, '/device_authorization', { client_id: 'tv' }, { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' })
  t.equal(res.statusCode, 200)
})

t.test('the configured user code format is used', async t => {
  const { app } = await buildApp({ userCode: { charset: '0123456789', mask: 'XXX-XXX-XXX' } })
  t.after(() => app.close())
  t.match((await authorize(app)).user_code, /^\d{3}-\d{3}-\d{3}$/)
})
