import t from 'tap'
import Fastify from 'fastify'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE } from '../src/index.js'
import { buildApp, CLIENTS } from './helpers.js'

const issueToken = () => ({ access_token: 'a', token_type: 'Bearer' })

t.test('metadata lists the device grant explicitly with absolute endpoints', async t => {
  const { app } = await buildApp()
  t.after(() => app.close())
  const res = await app.inject('/.well-known/oauth-authorization-server')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.same(res.json(), {
    issuer: 'https://auth.example.com',
    device_authorization_endpoint: 'https://auth.example.com/device_authorization',
    token_endpoint: 'https://auth.example.com/token',
    grant_types_supported: [DEVICE_CODE_GRANT_TYPE],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none']
  })
})

t.test('extra metadata merges in and empty arrays are omitted', async t => {
  const { app } = await buildApp({ metadata: { scopes_supported: ['read'], response_types_supported: [], service_documentation: 'https://docs.example.com' } })
  t.after(() => app.close())
  const body = (await app.inject('/.well-known/oauth-authorization-server')).json()
  t.same(body.scopes_supported, ['read'])
  t.equal(body.service_documentation, 'https://docs.example.com')
  t.notOk('response_types_supported' in body)
})

t.test('metadata: false serves no metadata', async t => {
  const { app } = await buildApp({ metadata: false })
  t.after(() => app.close())
  t.equal((await app.inject('/.well-known/oauth-authorization-server')).statusCode, 404)
  t.equal(app.deviceGrant.endpoints.metadata, undefined)
})

t.test('an issuer with a path puts the well-known segment before it', async t => {
  const { app } = await buildApp({ issuer: 'https://example.com/auth/', prefix: '/auth' })
  t.after(() => app.close())
  const res = await app.inject('/.well-known/oauth-authorization-server/auth')
  t.equal(res.statusCode, 200)
  t.equal(res.json().issuer, 'https://example.com/auth')
  t.equal(res.json().token_endpoint, 'https://example.com/auth/token')
})

t.test('prefix moves every OAuth route and the advertised URLs', async t => {
  const { app } = await buildApp({ prefix: '/oauth', authenticate: () => 'user' })
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/oauth/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().verification_uri, 'https://auth.example.com/oauth/device')
  t.equal((await app.inject({ method: 'POST', url: '/device_authorization' })).statusCode, 404)
  t.equal(app.deviceGrant.endpoints.token, 'https://auth.example.com/oauth/token')
})

t.test('a parent prefix is honoured too', async t => {
  const app = Fastify()
  t.after(() => app.close())
  await app.register(async child => {
    await child.register(deviceGrant, { issuer: 'https://a.example', clients: CLIENTS, issueToken, authenticate: () => 'user' })
  }, { prefix: '/v1' })
  await app.ready()
  const res = await app.inject({ method: 'POST', url: '/v1/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  t.equal(res.statusCode, 200)
  t.equal(res.json().verification_uri, 'https://a.example/v1/device')
})

t.test('paths and verificationUri are configurable', async t => {
  const { app } = await buildApp({ paths: { deviceAuthorization: '/da', token: '/oauth2/token' }, verificationUri: 'https://ex.com/activate' })
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/da', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=tv' })
  t.equal(res.json().verification_uri, 'https://ex.com/activate')
  t.equal(app.deviceGrant.metadata.token_endpoint, 'https://auth.example.com/oauth2/token')
})

t.test("the plugin's form parser does not leak into the app", async t => {
  const { app } = await buildApp({}, a => {
    a.post('/app-json', async request => request.body)
  })
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/app-json', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' })
  t.same(res.json(), { a: 1 })
})
