import t from 'tap'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('config defaults to 127.0.0.1:3000 and reads the overrides', async t => {
  t.same(readConfig({}), { host: '127.0.0.1', port: 3000, issuer: 'http://127.0.0.1:3000' })
  t.same(readConfig({ HOST: '::1', PORT: '8080', DEVICE_GRANT_EXPIRES_IN: '120', DEVICE_GRANT_INTERVAL: '2' }),
    { host: '::1', port: 8080, issuer: 'http://[::1]:8080', expiresIn: 120, interval: 2 })
  t.equal(readConfig({ HOST: '0.0.0.0' }).issuer, 'http://127.0.0.1:3000')
  t.equal(readConfig({ ISSUER: 'https://tv.example.com' }).issuer, 'https://tv.example.com')
  t.throws(() => readConfig({ PORT: 'eighty' }), /PORT must be a port number/)
  t.throws(() => readConfig({ DEVICE_GRANT_INTERVAL: '0' }), /DEVICE_GRANT_INTERVAL must be a positive/)
})

t.test('the demo TV signs in: authorize, approve, poll, call the API', async t => {
  const app = await buildApp(readConfig({ DEVICE_GRANT_INTERVAL: '1' }))
  t.after(() => app.close())
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })).json()
  t.equal(auth.interval, 1)
  const poll = () => app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: auth.device_code }).toString() })
  t.equal((await poll()).json().error, 'authorization_pending')
  const approved = await app.inject({ method: 'POST', url: '/demo/approve', headers: formHeaders, payload: `user_code=${auth.user_code}` })
  t.same(approved.json(), { approved: auth.user_code, subject: 'demo' })
  const token = (await poll()).json()
  t.equal(token.token_type, 'Bearer')
  t.equal(token.scope, 'read')
  const me = await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token.access_token}` } })
  t.same(me.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' })
})

t.test('the demo CLI authenticates with its secret', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, authorization: 'Basic ' + Buffer.from('demo-cli:demo-cli-secret').toString('base64') }, payload: 'scope=write' })
  t.equal(res.statusCode, 200)
})

t.test('a denied code and an unknown code are reported', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })).json()
  t.same((await app.inject({ method: 'POST', url: '/demo/deny', headers: formHeaders, payload: `user_code=${auth.user_code}&subject=eve` })).json(), { denied: auth.user_code, subject: 'eve' })
  const unknown = await app.inject({ method: 'POST', url: '/demo/approve', headers: formHeaders, payload: 'user_code=BBBB-BBBB' })
  t.equal(unknown.statusCode, 400)
  t.same(unknown.json(), { error: 'unknown' })
})

t.test('the API refuses a missing or unknown token', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  t.equal((await app.inject('/api/me')).statusCode, 401)
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: 'Bearer nope' } })).statusCode, 401)
})
