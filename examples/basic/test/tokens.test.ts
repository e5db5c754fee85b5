import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'
import { ACCESS_TOKEN_LIFETIME, apiAudience } from '../src/tokens.js'

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }
const SECRET = 'a-test-jwt-secret-of-32-characters!!'
const ISSUER = 'http://127.0.0.1:3000'

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const decode = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>

/** A hand-made HS256 JWT, to send the API tokens the example would never mint. */
function hs256 (secret: string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { iss: ISSUER, aud: apiAudience(ISSUER), sub: 'demo', client_id: 'demo-tv', scope: 'read', jti: 'x', iat: now, exp: now + 60, ...overrides }
}

/** Device flow through the plugin, approved from the server side: the token the device gets. */
async function deviceToken (t: Test, app: FastifyInstance, clientId = 'demo-tv', scope?: string) {
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: new URLSearchParams({ client_id: clientId, ...(scope !== undefined && { scope }) }).toString() })).json()
  t.ok((await app.deviceGrant.approve(auth.user_code, 'demo')).ok)
  const res = await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: clientId, device_code: auth.device_code }).toString() })
  t.equal(res.statusCode, 200)
  return res.json() as { access_token: string, token_type: string, expires_in: number, scope: string, refresh_token?: string }
}

const me = (app: FastifyInstance, authorization?: string) => app.inject({ url: '/api/me', headers: authorization === undefined ? {} : { authorization } })

t.test('the device gets a short-lived signed JWT access token, and no refresh token', async t => {
  const app = await buildApp(readConfig({ JWT_SECRET: SECRET }))
  t.after(() => app.close())
  const token = await deviceToken(t, app, 'demo-tv', 'openid profile')
  t.equal(token.token_type, 'Bearer')
  t.equal(token.expires_in, ACCESS_TOKEN_LIFETIME)
  t.equal(token.scope, 'openid profile')
  t.notOk('refresh_token' in token, 'no refresh token (README: RFC 9700 §2.2.2)')
  const [header, payload, signature] = token.access_token.split('.')
  t.same(decode(header), { alg: 'HS256', typ: 'at+jwt' })
  const body = decode(payload)
  t.match(body, { iss: ISSUER, aud: `${ISSUER}/api`, sub: 'demo', client_id: 'demo-tv', scope: 'openid profile', jti: String, iat: Number, exp: Number })
  t.equal((body.exp as number) - (body.iat as number), ACCESS_TOKEN_LIFETIME)
  t.equal(signature, createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url'), 'signed with JWT_SECRET')
  t.same((await me(app, `Bearer ${token.access_token}`)).json(), { subject: 'demo', clientId: 'demo-tv', scope: 'openid profile' })
  t.same((await me(app, `bearer  ${token.access_token}`)).json(), { subject: 'demo', clientId: 'demo-tv', scope: 'openid profile' }, 'the scheme is case-insensitive')
})

t.test('the API says what is wrong in WWW-Authenticate (RFC 6750 §3)', async t => {
  const app = await buildApp(readConfig({ JWT_SECRET: SECRET }))
  t.after(() => app.close())
  const none = await me(app)
  t.equal(none.statusCode, 401)
  const offered = ['Bearer realm="example-basic"', 'DPoP realm="example-basic", algs="ES256 EdDSA Ed25519 RS256 PS256"']
  t.same(none.headers['www-authenticate'], offered, 'no token sent: no error code, both schemes offered (RFC 9449 §7.1)')
  const basic = await me(app, 'Basic ZGVtbzpkZW1v')
  t.equal(basic.statusCode, 401)
  t.same(basic.headers['www-authenticate'], offered)
  const malformed = await me(app, 'Bearer two words')
  t.equal(malformed.statusCode, 400)
  t.equal(malformed.headers['www-authenticate'], 'Bearer realm="example-basic", error="invalid_request"')

  const refused: Array<[string, string]> = [
    ['not a JWT', 'nope'],
    ['signed with another key', hs256('another-secret-of-32-characters-long', { alg: 'HS256', typ: 'at+jwt' }, claims())],
    ['expired', hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims({ iat: 1_000, exp: 1_600 }))],
    ['another issuer', hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims({ iss: 'https://evil.example' }))],
    ['another audience', hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims({ aud: 'https://other.example/api' }))],
    ['not an access token (typ)', hs256(SECRET, { alg: 'HS256', typ: 'JWT' }, claims())],
    ['no client_id', hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims({ client_id: undefined }))],
    ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`]
  ]
  for (const [why, token] of refused) {
    const res = await me(app, `Bearer ${token}`)
    t.equal(res.statusCode, 401, why)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="example-basic", error="invalid_token"', why)
    t.same(res.json(), { error: 'invalid_token' }, why)
  }
  // The control: the same hand-made token with the right claims is accepted.
  t.equal((await me(app, `Bearer ${hs256(SECRET, { alg: 'HS256', typ: 'at+jwt' }, claims())}`)).statusCode, 200)
})

t.test('JWT_SECRET keeps tokens valid across restarts; without it each start has its own key', async t => {
  const first = await buildApp(readConfig({ JWT_SECRET: SECRET }))
  t.after(() => first.close())
  const { access_token: token } = await deviceToken(t, first)
  const restarted = await buildApp(readConfig({ JWT_SECRET: SECRET }))
  t.after(() => restarted.close())
  t.equal((await me(restarted, `Bearer ${token}`)).statusCode, 200)
  const random = await buildApp(readConfig({}))
  t.after(() => random.close())
  t.equal((await me(random, `Bearer ${token}`)).statusCode, 401)
  t.equal((await me(random, `Bearer ${(await deviceToken(t, random)).access_token}`)).statusCode, 200)
})

t.test('JWT_SECRET must be long enough for HS256', async t => {
  t.throws(() => readConfig({ JWT_SECRET: 'short' }), /JWT_SECRET must be at least 32 characters/)
  t.equal(readConfig({ JWT_SECRET: SECRET }).jwtSecret, SECRET)
  t.notOk('jwtSecret' in readConfig({ JWT_SECRET: '' }))
})

t.test('the awkward client authenticates with its form-encoded secret over Basic', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')
  const ok = await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, authorization: basic('demo-cli-awkward', 's3cr+t/with=odd:chars') }, payload: 'scope=write' })
  t.equal(ok.statusCode, 200)
  const wrong = await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, authorization: basic('demo-cli-awkward', 's3cr t/with=odd:chars') }, payload: 'scope=write' })
  t.equal(wrong.statusCode, 401)
})
