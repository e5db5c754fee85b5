import t from 'tap'
import {
  allowInsecureRequests,
  customFetch,
  discovery,
  fetchProtectedResource,
  getDPoPHandle,
  initiateDeviceAuthorization,
  None,
  pollDeviceAuthorizationGrant,
  WWWAuthenticateChallengeError
} from 'openid-client'
import * as oauth from 'oauth4webapi'
import { createProof } from '@device-grant/dpop'
import { decideInBrowser, launchBrowser } from './helpers/browser.js'
import { badProofs, deviceKey } from './helpers/proofs.js'
import { recorder } from './helpers/record.js'
import { startServer, type ExampleServer } from './helpers/server.js'

// RFC 9449 end to end: openid-client and oauth4webapi with DPoP handles against the example
// server as its own process, a person approving in Chromium, and hand-made proofs for every refusal.
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const server = await startServer(t)
const browser = await launchBrowser(t)

async function openidClient (base: string, clientId = 'demo-tv') {
  const wire = recorder()
  const config = await discovery(new URL(base), clientId, undefined, None(), { algorithm: 'oauth2', execute: [allowInsecureRequests] })
  config[customFetch] = wire.fetch
  return { config, wire }
}

/** Authorize, approve in Chromium, poll with the handle: the DPoP-bound token. */
async function boundWithOpenidClient (target: ExampleServer, clientId = 'demo-tv') {
  const { config, wire } = await openidClient(target.base, clientId)
  const DPoP = getDPoPHandle(config, (await deviceKey()).keyPair)
  const auth = await initiateDeviceAuthorization(config, {})
  const polling = pollDeviceAuthorizationGrant(config, auth, undefined, { DPoP })
  polling.catch(() => {})
  await decideInBrowser(browser, auth.verification_uri_complete as string, 'approve')
  return { config, wire, DPoP, tokens: await polling }
}

t.test('metadata advertises the DPoP algorithms', async t => {
  const { config } = await openidClient(server.base)
  t.same(config.serverMetadata().dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'])
})

t.test('openid-client with a DPoP handle: a bound token, the API works with a proof and refuses it without', async t => {
  const { config, wire, DPoP, tokens } = await boundWithOpenidClient(server)
  t.equal(tokens.token_type, 'dpop', 'openid-client lower-cases the token type')
  t.ok(wire.to('/token').every(e => typeof e.headers.dpop === 'string'), 'every poll carried a proof')
  const res = await fetchProtectedResource(config, tokens.access_token, new URL('/api/me', server.base), 'GET', undefined, undefined, { DPoP })
  t.same(await res.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' })
  t.match(wire.exchanges.at(-1)?.headers.authorization, /^DPoP /)
  const asBearer = await fetchProtectedResource(config, tokens.access_token, new URL('/api/me', server.base), 'GET').then(() => undefined, (e: unknown) => e)
  t.type(asBearer, WWWAuthenticateChallengeError)
  t.equal((asBearer as WWWAuthenticateChallengeError).status, 401)
  t.match((asBearer as WWWAuthenticateChallengeError).cause, [{ scheme: 'dpop', parameters: { error: 'invalid_token' } }])
})

t.test('oauth4webapi with a DPoP handle: a bound token, the API with a proof and without', async t => {
  const issuer = new URL(server.base)
  const options = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }))
  const client: oauth.Client = { client_id: 'demo-tv' }
  const DPoP = oauth.DPoP(client, (await deviceKey()).keyPair)
  const device = await oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, oauth.None(), {}, options))
  await decideInBrowser(browser, device.verification_uri_complete as string, 'approve')
  const tokens = await oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, oauth.None(), device.device_code, { ...options, DPoP }))
  t.equal(tokens.token_type, 'dpop')
  const api = new URL('/api/me', issuer)
  const ok = await oauth.protectedResourceRequest(tokens.access_token, 'GET', api, undefined, undefined, { ...options, DPoP })
  t.same(await ok.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' })
  const error = await oauth.protectedResourceRequest(tokens.access_token, 'GET', api, undefined, undefined, options).then(() => undefined, (e: unknown) => e)
  t.type(error, oauth.WWWAuthenticateChallengeError)
  t.match((error as oauth.WWWAuthenticateChallengeError).cause, [{ scheme: 'dpop', parameters: { error: 'invalid_token', algs: 'ES256 EdDSA Ed25519 RS256 PS256' } }])
})

t.test('a proof at device authorization binds the device code: another key cannot redeem it, the same key can', async t => {
  const issuer = new URL(server.base)
  const key = await deviceKey()
  // Neither library signs a proof for the device authorization request: add one to the request.
  const withProof = async (url: string, init: RequestInit & { headers?: Record<string, string> }) => {
    const proof = await createProof(key, { htm: 'POST', htu: url })
    return await fetch(url, { ...init, headers: { ...init.headers, dpop: proof } })
  }
  const options = { [oauth.allowInsecureRequests]: true }
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oauth2' }))
  const client: oauth.Client = { client_id: 'demo-tv' }
  const device = await oauth.processDeviceAuthorizationResponse(as, client, await oauth.deviceAuthorizationRequest(as, client, oauth.None(), {}, { ...options, [oauth.customFetch]: withProof }))
  await decideInBrowser(browser, device.verification_uri_complete as string, 'approve')
  const redeem = async (handle?: oauth.DPoPHandle) => await oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, oauth.None(), device.device_code, { ...options, ...(handle !== undefined && { DPoP: handle }) })).then(tokens => tokens, (e: unknown) => e)
  const other = await redeem(oauth.DPoP(client, (await deviceKey()).keyPair))
  t.type(other, oauth.ResponseBodyError)
  t.equal((other as oauth.ResponseBodyError).error, 'invalid_dpop_proof')
  const none = await redeem()
  t.equal((none as oauth.ResponseBodyError).error, 'invalid_dpop_proof')
  const tokens = await redeem(oauth.DPoP(client, key.keyPair)) as oauth.TokenEndpointResponse
  t.equal(tokens.token_type, 'dpop', 'the key of the device authorization redeems it')
})

t.test('server nonces: openid-client hears use_dpop_nonce, retries with the nonce, and gets a bound token', async t => {
  const nonceServer = await startServer(t, { DEVICE_GRANT_DPOP_NONCES: '1' })
  const { config, wire, DPoP, tokens } = await boundWithOpenidClient(nonceServer)
  t.equal(tokens.token_type, 'dpop')
  const polls = wire.to('/token')
  const first = polls[0]
  t.equal(first?.status, 400)
  t.equal(first?.json?.error, 'use_dpop_nonce')
  const nonce = first?.responseHeaders['dpop-nonce']
  t.type(nonce, 'string')
  const claims = JSON.parse(Buffer.from(polls[1]?.headers.dpop?.split('.')[1] ?? '', 'base64url').toString()) as { nonce?: string }
  t.equal(claims.nonce, nonce, 'the retry carried the server nonce')
  const res = await fetchProtectedResource(config, tokens.access_token, new URL('/api/me', nonceServer.base), 'GET', undefined, undefined, { DPoP })
  t.equal(res.status, 200)
})

t.test('demo-tv-dpop (dpop_bound_access_tokens) is refused without a proof and served with one', async t => {
  const { tokens } = await boundWithOpenidClient(server, 'demo-tv-dpop')
  t.equal(tokens.token_type, 'dpop')
})

t.test('every hand-made bad proof is a 400 invalid_dpop_proof that leaves the grant redeemable', async t => {
  const { config } = await openidClient(server.base)
  const key = await deviceKey()
  const auth = await initiateDeviceAuthorization(config, {})
  await decideInBrowser(browser, auth.verification_uri_complete as string, 'approve')
  const tokenUrl = `${server.base}/token`
  const poll = async (proof: string | string[] | undefined, deviceCode = auth.device_code) => {
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' })
    for (const p of [proof ?? []].flat()) headers.append('dpop', p)
    return await fetch(tokenUrl, { method: 'POST', headers, body: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: deviceCode }) })
  }
  const bad = await badProofs(key, tokenUrl)
  // A replay: a proof first used on another (pending) grant, then sent again.
  const pending = await initiateDeviceAuthorization(config, {})
  const used = await createProof(key, { htm: 'POST', htu: tokenUrl })
  t.equal((await (await poll(used, pending.device_code)).json() as { error: string }).error, 'authorization_pending')
  bad['replayed jti'] = used
  for (const [name, proof] of Object.entries(bad)) {
    const res = await poll(proof)
    t.equal(res.status, 400, name)
    t.equal(res.headers.get('cache-control'), 'no-store', name)
    const body = await res.json() as { error: string, error_description: string }
    t.equal(body.error, 'invalid_dpop_proof', `${name}: ${body.error_description}`)
  }
  const res = await poll(await createProof(key, { htm: 'POST', htu: tokenUrl }))
  t.equal(res.status, 200, 'the grant was untouched by every refusal')
  t.equal((await res.json() as { token_type: string }).token_type, 'DPoP')
})
