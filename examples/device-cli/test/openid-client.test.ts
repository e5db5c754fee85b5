import t from 'tap'
import {
  allowInsecureRequests,
  ClientSecretBasic,
  ClientSecretPost,
  customFetch,
  discovery,
  fetchProtectedResource,
  initiateDeviceAuthorization,
  None,
  pollDeviceAuthorizationGrant,
  ResponseBodyError,
  WWWAuthenticateChallengeError,
  type ClientAuth,
  type Configuration
} from 'openid-client'
import { decideInBrowser, launchBrowser } from './helpers/browser.js'
import { recorder } from './helpers/record.js'
import { startServer } from './helpers/server.js'

// openid-client v6 against the example server running as its own process; a person approves in
// Chromium. openid-client validates every answer strictly: any complaint here is a server bug.
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const server = await startServer(t)
const browser = await launchBrowser(t)
const issuer = new URL(server.base)

async function client (clientId: string, secret?: string, auth?: ClientAuth) {
  const wire = recorder()
  // allowInsecureRequests: the example serves plain http on 127.0.0.1.
  const config = await discovery(issuer, clientId, secret, auth ?? None(), { algorithm: 'oauth2', execute: [allowInsecureRequests] })
  config[customFetch] = wire.fetch
  return { config, wire }
}

/** The device's side (authorize, then poll) while a person decides in the browser. */
async function deviceFlow (config: Configuration, scope: string | undefined, decision: 'approve' | 'deny') {
  const auth = await initiateDeviceAuthorization(config, scope === undefined ? {} : { scope })
  const polling = pollDeviceAuthorizationGrant(config, auth)
  // Settled below; this only keeps a rejection from counting as unhandled meanwhile.
  polling.catch(() => {})
  const decided = await decideInBrowser(browser, auth.verification_uri_complete as string, decision)
  return { auth, decided, polling }
}

async function me (config: Configuration, accessToken: string) {
  const res = await fetchProtectedResource(config, accessToken, new URL('/api/me', issuer), 'GET')
  return await res.json() as unknown
}

t.test('discovery reads the RFC 8414 metadata at /.well-known/oauth-authorization-server', async t => {
  const { config } = await client('demo-tv')
  const metadata = config.serverMetadata()
  t.equal(metadata.issuer, server.base)
  t.equal(metadata.device_authorization_endpoint, `${server.base}/device_authorization`)
  t.equal(metadata.token_endpoint, `${server.base}/token`)
  t.ok(metadata.grant_types_supported?.includes(GRANT))
})

t.test('the public demo-tv signs in: approved in Chromium, polled by openid-client, token accepted by the API', async t => {
  const { config, wire } = await client('demo-tv')
  const { auth, decided, polling } = await deviceFlow(config, 'profile read', 'approve')
  t.equal(decided.shownCode, auth.user_code, 'the confirm page shows the code the device got')
  t.equal(auth.verification_uri, `${server.base}/device`)
  t.equal(auth.interval, 1)
  const tokens = await polling
  t.equal(tokens.token_type, 'bearer', 'openid-client lower-cases the token type')
  t.equal(tokens.expires_in, 600)
  t.equal(tokens.scope, 'profile read')
  t.notOk(tokens.refresh_token, 'no refresh token')
  t.same(await me(config, tokens.access_token), { subject: 'demo', clientId: 'demo-tv', scope: 'profile read' })

  const polls = wire.to('/token')
  t.ok(polls.length >= 1)
  t.ok(polls.every(p => p.body.get('client_id') === 'demo-tv' && p.body.get('grant_type') === GRANT && p.headers.authorization === undefined), 'a public client identifies itself with client_id only')
  t.notOk(polls.some(p => p.json?.error === 'slow_down'), 'a client keeping to the interval is never told to slow down')
  t.equal(polls.at(-1)?.status, 200)
})

t.test('the public demo-tv with the openid scope (no ID token: this server is OAuth, not OpenID Connect)', async t => {
  const { config } = await client('demo-tv')
  const { polling } = await deviceFlow(config, 'openid', 'approve')
  const tokens = await polling
  t.equal(tokens.scope, 'openid')
  t.same(await me(config, tokens.access_token), { subject: 'demo', clientId: 'demo-tv', scope: 'openid' })
})

t.test('the confidential demo-cli over client_secret_basic', async t => {
  const { config, wire } = await client('demo-cli', 'demo-cli-secret', ClientSecretBasic('demo-cli-secret'))
  const { polling } = await deviceFlow(config, 'write', 'approve')
  const tokens = await polling
  t.equal(tokens.scope, 'write')
  t.same(await me(config, tokens.access_token), { subject: 'demo', clientId: 'demo-cli', scope: 'write' })
  const [authorization] = wire.to('/device_authorization')
  t.match(authorization?.headers.authorization, /^Basic /)
  t.equal(authorization?.body.get('client_id'), 'demo-cli', 'openid-client sends Basic and client_id in the body together')
  t.ok(wire.to('/token').every(p => p.headers.authorization?.startsWith('Basic ') === true && !p.body.has('client_secret')))
})

t.test('a secret with + / = : in it, over client_secret_basic (RFC 6749 §2.3.1 form-encoding)', async t => {
  const secret = 's3cr+t/with=odd:chars'
  const { config, wire } = await client('demo-cli-awkward', secret, ClientSecretBasic(secret))
  const { polling } = await deviceFlow(config, undefined, 'approve')
  const tokens = await polling
  t.equal(tokens.scope, 'read', "the client's default scope")
  t.same(await me(config, tokens.access_token), { subject: 'demo', clientId: 'demo-cli-awkward', scope: 'read' })
  const basic = Buffer.from(wire.to('/device_authorization')[0]?.headers.authorization?.slice(6) ?? '', 'base64').toString()
  t.match(basic, /^[^:]+:s3cr%2Bt%2Fwith%3Dodd%3Achars$/, 'what went on the wire is form-encoded')
  t.equal(decodeURIComponent(basic.split(':')[0] ?? ''), 'demo-cli-awkward')
})

t.test('the confidential demo-cli over client_secret_post', async t => {
  const { config, wire } = await client('demo-cli', 'demo-cli-secret', ClientSecretPost('demo-cli-secret'))
  const { polling } = await deviceFlow(config, 'read write', 'approve')
  const tokens = await polling
  t.same(await me(config, tokens.access_token), { subject: 'demo', clientId: 'demo-cli', scope: 'read write' })
  t.ok(wire.exchanges.filter(e => e.method === 'POST').every(e => e.body.get('client_secret') === 'demo-cli-secret' && e.headers.authorization === undefined))
})

t.test('deny in Chromium: pollDeviceAuthorizationGrant rejects with access_denied', async t => {
  const { config } = await client('demo-tv')
  const { decided, polling } = await deviceFlow(config, 'read', 'deny')
  t.equal(decided.heading, 'Request denied')
  const error = await polling.then(() => undefined, (e: unknown) => e)
  t.type(error, ResponseBodyError)
  t.equal((error as ResponseBodyError).error, 'access_denied')
  t.equal((error as ResponseBodyError).status, 400)
})

t.test('a wrong secret: the library sees the 401 Basic challenge (invalid_client)', async t => {
  const { config } = await client('demo-cli', 'wrong', ClientSecretBasic('wrong'))
  const error = await initiateDeviceAuthorization(config, {}).then(() => undefined, (e: unknown) => e)
  t.type(error, WWWAuthenticateChallengeError)
  const challenge = error as WWWAuthenticateChallengeError
  t.equal(challenge.status, 401)
  t.equal(challenge.cause[0]?.scheme, 'basic')
  t.match(await challenge.response.json(), { error: 'invalid_client', error_description: String })
})

t.test('an unknown client is refused with invalid_client', async t => {
  const { config } = await client('nobody')
  const error = await initiateDeviceAuthorization(config, {}).then(() => undefined, (e: unknown) => e)
  t.type(error, ResponseBodyError)
  t.equal((error as ResponseBodyError).error, 'invalid_client')
})

t.test('a scope the client may not have is refused with invalid_scope', async t => {
  const { config } = await client('demo-tv')
  const error = await initiateDeviceAuthorization(config, { scope: 'write' }).then(() => undefined, (e: unknown) => e)
  t.type(error, ResponseBodyError)
  t.equal((error as ResponseBodyError).error, 'invalid_scope')
})
