import t, { type Test } from 'tap'
import Fastify, { type LightMyRequestResponse } from 'fastify'
import formbody from '@fastify/formbody'
import { MemoryStore } from '@device-grant/store-memory'
import { deviceGrant, DEVICE_CODE_GRANT_TYPE, type DeviceGrantPluginOptions, type DeviceGrantStore } from '../src/index.js'
import { newKey, proof, type Key, type ProofClaims } from './dpop-proofs.js'
import { authorize, buildApp, CLIENTS, form, poll, type TestApp } from './helpers.js'

const ISSUER = 'https://auth.example.com'
const TOKEN = `${ISSUER}/token`
const key = await newKey()
const clients = [...CLIENTS, { clientId: 'bound-tv', dpopBoundAccessTokens: true }]

async function dpopApp (dpop: DeviceGrantPluginOptions['dpop'] = true, extra: Partial<DeviceGrantPluginOptions> = {}): Promise<TestApp> {
  return await buildApp({ clients, dpop, ...extra })
}

/** A proof made at the app's clock. */
async function proofAt (ctx: TestApp, claims: Partial<ProofClaims> & { key?: Key } = {}, header?: Record<string, unknown>): Promise<string> {
  const { key: signer = key, ...rest } = claims
  return await proof(signer, { htu: TOKEN, iat: Math.floor(ctx.clock.now / 1000), ...rest }, header)
}

async function approved (ctx: TestApp, client = 'tv', headers: Record<string, string> = {}) {
  const auth = await authorize(ctx.app, { client_id: client }, headers)
  await ctx.app.deviceGrant.approve(auth.user_code, 'alice')
  return auth
}

function isDpopRefusal (t: Test, res: LightMyRequestResponse, description: RegExp, error = 'invalid_dpop_proof') {
  t.equal(res.statusCode, 400)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.json().error, error)
  t.match(res.json().error_description, description)
  t.notOk(res.headers['www-authenticate'], 'no challenge on a 400')
}

t.test('metadata lists dpop_signing_alg_values_supported when DPoP is on, and not when off', async t => {
  const on = await dpopApp()
  t.after(() => on.app.close())
  t.same(on.app.deviceGrant.metadata.dpop_signing_alg_values_supported, ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'])
  const off = await buildApp()
  t.after(() => off.app.close())
  t.notOk('dpop_signing_alg_values_supported' in off.app.deviceGrant.metadata)
})

t.test('a poll with a valid proof passes the key thumbprint to issueToken', async t => {
  const ctx = await dpopApp()
  t.after(() => ctx.app.close())
  const auth = await approved(ctx)
  const res = await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: await proofAt(ctx) })
  t.equal(res.statusCode, 200)
  t.equal(ctx.issued[0]?.dpopJkt, key.jkt)
})

t.test('a poll without a proof is unchanged: no dpopJkt', async t => {
  const ctx = await dpopApp()
  t.after(() => ctx.app.close())
  const auth = await approved(ctx)
  t.equal((await poll(ctx.app, auth.device_code)).statusCode, 200)
  t.notOk('dpopJkt' in (ctx.issued[0] ?? {}))
})

const bad: Array<[string, (ctx: TestApp) => Promise<Record<string, string | string[]>>, RegExp]> = [
  ['wrong htu', async ctx => ({ dpop: await proofAt(ctx, { htu: `${ISSUER}/other` }) }), /htu must be https:\/\/auth\.example\.com\/token/],
  ['wrong htm', async ctx => ({ dpop: await proofAt(ctx, { htm: 'GET' }) }), /htm/],
  ['stale iat', async ctx => ({ dpop: await proofAt(ctx, { iat: Math.floor(ctx.clock.now / 1000) - 61 }) }), /iat/],
  ['two DPoP headers', async ctx => ({ dpop: [await proofAt(ctx), await proofAt(ctx)] }), /exactly one/],
  ['a malformed header', async () => ({ dpop: 'garbage' }), /compact JWS/],
  ['a private key in the header', async ctx => ({ dpop: await proofAt(ctx, {}, { jwk: key.privateJwk }) }), /public key/]
]

for (const [name, headers, description] of bad) {
  t.test(`refused before the grant is touched: ${name}`, async t => {
    const ctx = await dpopApp()
    t.after(() => ctx.app.close())
    const auth = await approved(ctx)
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...await headers(ctx) },
      payload: form({ grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: auth.device_code })
    })
    isDpopRefusal(t, res, description)
    t.equal(ctx.issued.length, 0)
    t.equal((await poll(ctx.app, auth.device_code)).statusCode, 200, 'the grant is still there to redeem')
  })
}

t.test('a replayed proof is refused, across instances sharing the store', async t => {
  const store = new MemoryStore({ sweepInterval: 0 })
  t.after(() => store.close())
  const a = await dpopApp(true, { store })
  const b = await dpopApp(true, { store })
  t.after(() => a.app.close())
  t.after(() => b.app.close())
  const auth = await approved(a)
  const p = await proofAt(a)
  t.equal((await poll(a.app, auth.device_code, { client_id: 'tv' }, { dpop: p })).json().error, undefined)
  isDpopRefusal(t, await poll(b.app, auth.device_code, { client_id: 'tv' }, { dpop: p }), /already used/)
})

t.test('htu is the issuer\'s URL, whatever Host or X-Forwarded-* say (trustProxy)', async t => {
  const ctx = await buildApp({ clients, dpop: true }, undefined)
  t.after(() => ctx.app.close())
  const proxied = Fastify({ trustProxy: true })
  await proxied.register(deviceGrant, { issuer: ISSUER, verificationUri: `${ISSUER}/device`, clients, dpop: true, clock: () => ctx.clock.now, issueToken: () => ({ access_token: 'a', token_type: 'DPoP' }) })
  t.after(() => proxied.close())
  const auth = await authorize(proxied)
  const headers = { host: 'internal:8080', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }
  const good = await poll(proxied, auth.device_code, { client_id: 'tv' }, { ...headers, dpop: await proofAt(ctx) })
  t.equal(good.json().error, 'authorization_pending')
  const byHost = await poll(proxied, auth.device_code, { client_id: 'tv' }, { ...headers, dpop: await proofAt(ctx, { htu: 'http://evil.example/token' }) })
  isDpopRefusal(t, byHost, /htu/)
})

t.test('htu includes the plugin prefix', async t => {
  const ctx = await dpopApp(true, { prefix: '/oauth' })
  t.after(() => ctx.app.close())
  const auth = await authorize(ctx.app, { client_id: 'tv' }).catch(() => undefined)
  t.equal(auth, undefined, 'the routes moved under the prefix')
  const res = await ctx.app.inject({ method: 'POST', url: '/oauth/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proofAt(ctx, { htu: `${ISSUER}/oauth/device_authorization` }) }, payload: 'client_id=tv' })
  t.equal(res.statusCode, 200)
})

t.test('a client registered with dpopBoundAccessTokens gets no token without a proof', async t => {
  const ctx = await dpopApp()
  t.after(() => ctx.app.close())
  const auth = await approved(ctx, 'bound-tv')
  isDpopRefusal(t, await poll(ctx.app, auth.device_code, { client_id: 'bound-tv' }), /must send a DPoP proof/)
  const res = await poll(ctx.app, auth.device_code, { client_id: 'bound-tv' }, { dpop: await proofAt(ctx) })
  t.equal(res.statusCode, 200)
  t.type(ctx.issued[0]?.dpopJkt, 'string')
})

t.test('a client with dpopBoundAccessTokens on a server without DPoP is refused with a clear reason', async t => {
  const ctx = await buildApp({ clients })
  t.after(() => ctx.app.close())
  const auth = await approved(ctx, 'bound-tv')
  isDpopRefusal(t, await poll(ctx.app, auth.device_code, { client_id: 'bound-tv' }), /has not enabled/)
})

t.test('DPoP off: a DPoP header is ignored, as before', async t => {
  const ctx = await buildApp()
  t.after(() => ctx.app.close())
  const auth = await approved(ctx)
  t.equal((await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: 'garbage' })).statusCode, 200)
  t.notOk('dpopJkt' in (ctx.issued[0] ?? {}))
})

t.test('a proof at device authorization binds the device code to that key', async t => {
  const ctx = await dpopApp()
  t.after(() => ctx.app.close())
  const auth = await approved(ctx, 'tv', { dpop: await proofAt(ctx, { htu: `${ISSUER}/device_authorization` }) })
  isDpopRefusal(t, await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: await proofAt(ctx, { key: await newKey() }) }), /bound to the DPoP key/)
  isDpopRefusal(t, await poll(ctx.app, auth.device_code), /bound to the DPoP key/)
  t.equal(ctx.issued.length, 0)
  t.equal((await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: await proofAt(ctx) })).statusCode, 200)
})

t.test('a bad proof at device authorization is refused and mints no code', async t => {
  const ctx = await dpopApp()
  t.after(() => ctx.app.close())
  const res = await ctx.app.inject({ method: 'POST', url: '/device_authorization', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proofAt(ctx) }, payload: 'client_id=tv' })
  isDpopRefusal(t, res, /htu must be https:\/\/auth\.example\.com\/device_authorization/)
})

t.test('server nonces: use_dpop_nonce with a DPoP-Nonce header, then accepted with the nonce', async t => {
  const ctx = await dpopApp({ nonce: { secret: 'n'.repeat(32) } })
  t.after(() => ctx.app.close())
  const auth = await approved(ctx)
  const first = await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: await proofAt(ctx) })
  isDpopRefusal(t, first, /nonce is required/, 'use_dpop_nonce')
  const nonce = first.headers['dpop-nonce'] as string
  t.match(nonce, /^[\x21\x23-\x5B\x5D-\x7E]+$/)
  t.equal(ctx.issued.length, 0)
  const second = await poll(ctx.app, auth.device_code, { client_id: 'tv' }, { dpop: await proofAt(ctx, { nonce }) })
  t.equal(second.statusCode, 200)
  t.equal(second.headers['dpop-nonce'], nonce, 'the nonce to use next comes with every answer')
})

t.test('the token handler mounted in an app\'s own route checks htu against that route', async t => {
  const app = Fastify()
  await app.register(formbody)
  await app.register(deviceGrant, { issuer: ISSUER, verificationUri: `${ISSUER}/device`, clients, dpop: true, issueToken: ({ dpopJkt }) => ({ access_token: 'a', token_type: dpopJkt === undefined ? 'Bearer' : 'DPoP' }) })
  app.post('/oauth/token', async (request, reply) => app.deviceGrant.tokenHandler(request, reply))
  t.after(() => app.close())
  const auth = await authorize(app)
  await app.deviceGrant.approve(auth.user_code, 'alice')
  const send = async (htu: string) => app.inject({ method: 'POST', url: '/oauth/token?x=1', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof(key, { htu, iat: Math.floor(Date.now() / 1000) }) }, payload: form({ grant_type: DEVICE_CODE_GRANT_TYPE, client_id: 'tv', device_code: auth.device_code }) })
  isDpopRefusal(t, await send(TOKEN), /htu must be https:\/\/auth\.example\.com\/oauth\/token/)
  const res = await send(`${ISSUER}/oauth/token`)
  t.equal(res.statusCode, 200)
  t.equal(res.json().token_type, 'DPoP')
})

t.test('a shared store without useOnce: replays are caught in this process, with a warning at start', async t => {
  const memory = new MemoryStore({ sweepInterval: 0 })
  t.after(() => memory.close())
  const { useOnce: _, ...rest } = Object.fromEntries(['save', 'findByDeviceCodeHash', 'findByUserCode', 'recordPoll', 'bindSubject', 'approve', 'deny', 'claim', 'hit'].map(m => [m, (memory as unknown as Record<string, (...a: unknown[]) => unknown>)[m]?.bind(memory)]))
  const store = { ...rest, capabilities: { sharedAcrossProcesses: true } } as unknown as DeviceGrantStore
  const warnings: string[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { warnings.push(JSON.parse(line).msg) } } } })
  await app.register(deviceGrant, { issuer: ISSUER, verificationUri: `${ISSUER}/device`, clients, store, dpop: true, issueToken: () => ({ access_token: 'a', token_type: 'Bearer' }) })
  t.after(() => app.close())
  await app.ready()
  t.match(warnings, [/no useOnce\(\)/])
  const auth = await authorize(app)
  const p = await proof(key, { htu: TOKEN, iat: Math.floor(Date.now() / 1000) })
  t.equal((await poll(app, auth.device_code, { client_id: 'tv' }, { dpop: p })).json().error, 'authorization_pending')
  isDpopRefusal(t, await poll(app, auth.device_code, { client_id: 'tv' }, { dpop: p }), /already used/)
})

t.test('bad dpop options are refused at register', async t => {
  await t.rejects(buildApp({ dpop: { algorithms: ['HS256'] } }), /fastify-device-grant: dpop: algorithms/)
  await t.rejects(buildApp({ dpop: { iatWindow: -1 } }), /iatWindow/)
  await t.rejects(buildApp({ dpop: 'yes' as never }), /dpop must be a boolean or an object/)
})
