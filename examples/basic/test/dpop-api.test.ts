import t, { type Test } from 'tap'
import { createProof, generateProofKey, type ProofKey } from '@device-grant/dpop'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const ISSUER = 'http://127.0.0.1:3000'
const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' }
const key = await generateProofKey()

/** The device flow with a proof on every request, approved from the server side. */
async function boundToken (t: Test, app: FastifyInstance, clientId = 'demo-tv') {
  const form = (params: Record<string, string>) => new URLSearchParams(params).toString()
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, dpop: await createProof(key, { htm: 'POST', htu: `${ISSUER}/device_authorization` }) }, payload: form({ client_id: clientId }) })).json()
  t.ok((await app.deviceGrant.approve(auth.user_code, 'demo')).ok)
  const res = await app.inject({ method: 'POST', url: '/token', headers: { ...formHeaders, dpop: await createProof(key, { htm: 'POST', htu: `${ISSUER}/token` }) }, payload: form({ grant_type: GRANT, client_id: clientId, device_code: auth.device_code }) })
  t.equal(res.statusCode, 200)
  return res.json() as { access_token: string, token_type: string }
}

async function me (app: FastifyInstance, authorization: string, proof?: string) {
  return await app.inject({ url: '/api/me', headers: { authorization, ...(proof !== undefined && { dpop: proof }) } })
}

const apiProof = async (token: string, signer: ProofKey = key, htu = `${ISSUER}/api/me`) => await createProof(signer, { htm: 'GET', htu, accessToken: token })

t.test('a token requested with a proof is a DPoP token carrying cnf.jkt', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const token = await boundToken(t, app)
  t.equal(token.token_type, 'DPoP')
  const claims = JSON.parse(Buffer.from(token.access_token.split('.')[1] ?? '', 'base64url').toString())
  t.same(claims.cnf, { jkt: key.jkt })
})

t.test('the API accepts a bound token with a proof by its key, once per proof', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const { access_token: token } = await boundToken(t, app)
  const proof = await apiProof(token)
  const res = await me(app, `DPoP ${token}`, proof)
  t.equal(res.statusCode, 200)
  t.same(res.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'read' })
  const replay = await me(app, `DPoP ${token}`, proof)
  t.equal(replay.statusCode, 401)
  t.match(replay.headers['www-authenticate'], /^DPoP realm="example-basic", error="invalid_dpop_proof", error_description="[^"]*already used[^"]*", algs="/)
})

const refusals: Array<[string, (token: string) => Promise<[string, string | undefined]>, string]> = [
  ['the bound token as Bearer', async token => [`Bearer ${token}`, undefined], 'invalid_token'],
  ['DPoP without a proof', async token => [`DPoP ${token}`, undefined], 'invalid_dpop_proof'],
  ['a proof by another key', async token => [`DPoP ${token}`, await apiProof(token, await generateProofKey())], 'invalid_token'],
  ['a proof for another URL', async token => [`DPoP ${token}`, await apiProof(token, key, `${ISSUER}/api/other`)], 'invalid_dpop_proof'],
  ['a proof for another token (ath)', async token => [`DPoP ${token}`, await apiProof('another-token')], 'invalid_dpop_proof'],
  ['a token that is not valid', async () => ['DPoP not-a-token', await apiProof('not-a-token')], 'invalid_token']
]

for (const [name, request, error] of refusals) {
  t.test(`the API refuses ${name}: 401 with a DPoP challenge (${error})`, async t => {
    const app = await buildApp(readConfig({}))
    t.after(() => app.close())
    const { access_token: token } = await boundToken(t, app)
    const res = await me(app, ...await request(token))
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], new RegExp(`^DPoP realm="example-basic", error="${error}", error_description="[^"]+", algs="ES256 EdDSA Ed25519 RS256 PS256"$`))
    t.equal(res.json().error, error)
  })
}

t.test('an unbound token presented as DPoP is refused; as Bearer it still works', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv' })).json()
  await app.deviceGrant.approve(auth.user_code, 'demo')
  const token = (await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: auth.device_code }).toString() })).json()
  t.equal(token.token_type, 'Bearer')
  t.equal((await me(app, `Bearer ${token.access_token}`)).statusCode, 200)
  const asDpop = await me(app, `DPoP ${token.access_token}`, await apiProof(token.access_token))
  t.equal(asDpop.statusCode, 401)
  t.match(asDpop.headers['www-authenticate'], /error="invalid_token", error_description="this token is not DPoP-bound/)
})

t.test('demo-tv-dpop gets no token without a proof', async t => {
  const app = await buildApp(readConfig({}))
  t.after(() => app.close())
  const auth = (await app.inject({ method: 'POST', url: '/device_authorization', headers: formHeaders, payload: 'client_id=demo-tv-dpop' })).json()
  await app.deviceGrant.approve(auth.user_code, 'demo')
  const res = await app.inject({ method: 'POST', url: '/token', headers: formHeaders, payload: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv-dpop', device_code: auth.device_code }).toString() })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_dpop_proof')
  t.equal((await boundToken(t, app, 'demo-tv-dpop')).token_type, 'DPoP')
})

t.test('DEVICE_GRANT_DPOP_NONCES=1: the token endpoint asks for a server nonce', async t => {
  const app = await buildApp(readConfig({ DEVICE_GRANT_DPOP_NONCES: '1' }))
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/device_authorization', headers: { ...formHeaders, dpop: await createProof(key, { htm: 'POST', htu: `${ISSUER}/device_authorization` }) }, payload: 'client_id=demo-tv' })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'use_dpop_nonce')
  t.type(res.headers['dpop-nonce'], 'string')
})
