import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import * as oauth from 'oauth4webapi'
import { decideInBrowser, launchBrowser } from './helpers/browser.js'
import { recorder } from './helpers/record.js'
import { startServer } from './helpers/server.js'

// oauth4webapi, the strict low-level library under openid-client, step by step against the example
// server running as its own process; a person decides in Chromium.
const server = await startServer(t)
const browser = await launchBrowser(t)
const issuer = new URL(server.base)
const wire = recorder()
// allowInsecureRequests: the example serves plain http on 127.0.0.1.
const options = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: wire.fetch }

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }))

/** RFC 8628 §3.5 polling as a device does it: wait `interval`, add 5 s on slow_down, stop on anything else. */
async function poll (client: oauth.Client, auth: oauth.ClientAuth, device: oauth.DeviceAuthorizationResponse, extra?: Record<string, string>) {
  let interval = device.interval ?? 5
  const deadline = Date.now() + device.expires_in * 1000
  while (Date.now() < deadline) {
    await sleep(interval * 1000)
    const res = await oauth.deviceCodeGrantRequest(as, client, auth, device.device_code, { ...options, ...(extra !== undefined && { additionalParameters: extra }) })
    try {
      return await oauth.processDeviceCodeResponse(as, client, res)
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError && error.error === 'authorization_pending') continue
      if (error instanceof oauth.ResponseBodyError && error.error === 'slow_down') { interval += 5; continue }
      throw error
    }
  }
  throw new Error('the device code expired while polling')
}

async function authorize (client: oauth.Client, auth: oauth.ClientAuth, scope?: string) {
  const res = await oauth.deviceAuthorizationRequest(as, client, auth, scope === undefined ? {} : { scope }, options)
  return await oauth.processDeviceAuthorizationResponse(as, client, res)
}

async function me (accessToken: string) {
  const res = await oauth.protectedResourceRequest(accessToken, 'GET', new URL('/api/me', issuer), undefined, undefined, options)
  return await res.json() as unknown
}

t.test('processDiscoveryResponse accepts the metadata (issuer matches, device grant listed)', async t => {
  t.equal(as.issuer, server.base)
  t.equal(as.device_authorization_endpoint, `${server.base}/device_authorization`)
  t.ok(as.grant_types_supported?.includes('urn:ietf:params:oauth:grant-type:device_code'))
  t.ok(as.token_endpoint_auth_methods_supported?.includes('client_secret_basic'))
})

t.test('public client (None): pending until approved in Chromium, then a token, then invalid_grant', async t => {
  const client: oauth.Client = { client_id: 'demo-tv' }
  const device = await authorize(client, oauth.None(), 'profile')
  t.match(device, { user_code: /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, verification_uri: `${server.base}/device`, expires_in: 600, interval: 1 })

  const early = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), device.device_code, options)
  const pending = await oauth.processDeviceCodeResponse(as, client, early).then(() => undefined, (e: unknown) => e)
  t.type(pending, oauth.ResponseBodyError)
  t.equal((pending as oauth.ResponseBodyError).error, 'authorization_pending')
  t.equal(wire.exchanges.at(-1)?.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8', 'the charset parameter is accepted')

  const polling = poll(client, oauth.None(), device)
  polling.catch(() => {})
  const decided = await decideInBrowser(browser, device.verification_uri_complete as string, 'approve')
  t.equal(decided.shownCode, device.user_code)
  const tokens = await polling
  t.match(tokens, { token_type: 'bearer', expires_in: 600, scope: 'profile', access_token: String })
  t.same(await me(tokens.access_token), { subject: 'demo', clientId: 'demo-tv', scope: 'profile' })

  const again = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), device.device_code, options)
  const used = await oauth.processDeviceCodeResponse(as, client, again).then(() => undefined, (e: unknown) => e)
  t.equal((used as oauth.ResponseBodyError).error, 'invalid_grant', 'a device code redeems once')
})

t.test('ClientSecretBasic with an awkward secret, Basic and client_id in the body together', async t => {
  const client: oauth.Client = { client_id: 'demo-cli-awkward' }
  const auth = oauth.ClientSecretBasic('s3cr+t/with=odd:chars')
  const before = wire.exchanges.length
  const device = await authorize(client, auth, 'write')
  const [authorization] = wire.exchanges.slice(before)
  t.match(authorization?.headers.authorization, /^Basic /)
  t.equal(authorization?.body.get('client_id'), 'demo-cli-awkward', 'oauth4webapi puts client_id in the device authorization body as well')

  const polling = poll(client, auth, device, { client_id: 'demo-cli-awkward' })
  polling.catch(() => {})
  await decideInBrowser(browser, device.verification_uri_complete as string, 'approve')
  const tokens = await polling
  const tokenRequests = wire.exchanges.slice(before).filter(e => e.url.endsWith('/token'))
  t.ok(tokenRequests.length > 0 && tokenRequests.every(e => e.headers.authorization?.startsWith('Basic ') === true && e.body.get('client_id') === 'demo-cli-awkward'), 'every poll sent both')
  t.same(await me(tokens.access_token), { subject: 'demo', clientId: 'demo-cli-awkward', scope: 'write' })
})

t.test('ClientSecretPost', async t => {
  const client: oauth.Client = { client_id: 'demo-cli' }
  const auth = oauth.ClientSecretPost('demo-cli-secret')
  const device = await authorize(client, auth)
  const polling = poll(client, auth, device)
  polling.catch(() => {})
  await decideInBrowser(browser, device.verification_uri_complete as string, 'approve')
  const tokens = await polling
  t.same(await me(tokens.access_token), { subject: 'demo', clientId: 'demo-cli', scope: 'read' })
})

t.test('denied in Chromium: processDeviceCodeResponse throws access_denied', async t => {
  const client: oauth.Client = { client_id: 'demo-tv' }
  const device = await authorize(client, oauth.None())
  const polling = poll(client, oauth.None(), device)
  polling.catch(() => {})
  await decideInBrowser(browser, device.verification_uri_complete as string, 'deny')
  const error = await polling.then(() => undefined, (e: unknown) => e)
  t.type(error, oauth.ResponseBodyError)
  t.equal((error as oauth.ResponseBodyError).error, 'access_denied')
})

t.test('a wrong Basic secret: a 401 challenge the library parses', async t => {
  const res = await oauth.deviceAuthorizationRequest(as, { client_id: 'demo-cli' }, oauth.ClientSecretBasic('nope'), {}, options)
  const error = await oauth.processDeviceAuthorizationResponse(as, { client_id: 'demo-cli' }, res).then(() => undefined, (e: unknown) => e)
  t.type(error, oauth.WWWAuthenticateChallengeError)
  t.match((error as oauth.WWWAuthenticateChallengeError).cause, [{ scheme: 'basic', parameters: { realm: 'device-grant' } }])
})

t.test("the API's Bearer challenge parses too: invalid_token for a bad token", async t => {
  const error = await oauth.protectedResourceRequest('not-a-token', 'GET', new URL('/api/me', issuer), undefined, undefined, options).then(() => undefined, (e: unknown) => e)
  t.type(error, oauth.WWWAuthenticateChallengeError)
  t.match((error as oauth.WWWAuthenticateChallengeError).cause, [{ scheme: 'bearer', parameters: { realm: 'example-basic', error: 'invalid_token' } }])
  t.equal((error as oauth.WWWAuthenticateChallengeError).status, 401)
})

t.test('every OAuth answer was no-store', async t => {
  const oauthAnswers = wire.exchanges.filter(e => /\/(token|device_authorization)$/.test(new URL(e.url).pathname))
  t.ok(oauthAnswers.length > 5)
  t.ok(oauthAnswers.every(e => e.json !== undefined && e.responseHeaders['cache-control'] === 'no-store' && e.responseHeaders.pragma === 'no-cache'))
})
