import t from 'tap'
import { calculateJwkThumbprint, SignJWT } from 'jose'
import { DpopProofError, DpopVerifier, InMemoryReplayCache } from '../src/index.js'
import { newKey, proof } from './proofs.js'

const URL_ = 'https://auth.example.com/token'
const key = await newKey()

function verifier (options: Partial<ConstructorParameters<typeof DpopVerifier>[0]> = {}) {
  return new DpopVerifier({ replay: new InMemoryReplayCache(), ...options })
}

async function refusal (promise: Promise<unknown>): Promise<DpopProofError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  if (!(error instanceof DpopProofError)) throw new Error(`expected a DpopProofError, got ${String(error)}`)
  return error
}

t.test('a valid proof yields the RFC 7638 thumbprint of its key', async t => {
  const result = await verifier().verify({ proof: await proof(key, { htu: URL_ }), method: 'POST', url: URL_ })
  t.equal(result.jkt, await calculateJwkThumbprint(key.publicJwk, 'sha256'))
  t.equal(result.nextNonce, undefined)
})

t.test('every supported key type verifies: ES256, EdDSA, Ed25519, RS256, PS256', async t => {
  for (const alg of ['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256']) {
    const k = await newKey(alg)
    const result = await verifier().verify({ proof: await proof(k, { htu: URL_ }), method: 'POST', url: URL_ })
    t.equal(result.jkt, await calculateJwkThumbprint(k.publicJwk, 'sha256'), alg)
  }
})

t.test('htu is compared after RFC 3986 normalization, ignoring query and fragment', async t => {
  const v = verifier()
  for (const htu of ['HTTPS://Auth.Example.COM:443/token', 'https://auth.example.com/%74oken', 'https://auth.example.com/a/../token?x=1#f']) {
    await t.resolves(v.verify({ proof: await proof(key, { htu }), method: 'POST', url: URL_ }), htu)
  }
})

const refusals: Array<[string, () => Promise<{ proof: string | string[] | undefined, accessToken?: string }>, RegExp]> = [
  ['no header', async () => ({ proof: undefined }), /required/],
  ['two headers joined by Node', async () => ({ proof: `${await proof(key, { htu: URL_ })}, ${await proof(key, { htu: URL_ })}` }), /exactly one/],
  ['two headers as an array', async () => ({ proof: [await proof(key, { htu: URL_ }), await proof(key, { htu: URL_ })] }), /exactly one/],
  ['a malformed header', async () => ({ proof: 'not a jwt' }), /compact JWS/],
  ['a header that is not JSON', async () => ({ proof: 'bm90anNvbg.e30.e30' }), /not a JSON object|base64url JSON/],
  ['typ other than dpop+jwt', async () => ({ proof: await proof(key, { htu: URL_ }, { typ: 'JWT' }) }), /typ/],
  ['wrong htm', async () => ({ proof: await proof(key, { htu: URL_, htm: 'GET' }) }), /htm must be POST/],
  ['wrong htu', async () => ({ proof: await proof(key, { htu: 'https://evil.example.com/token' }) }), /htu must be https:\/\/auth\.example\.com\/token/],
  ['a stale iat', async () => ({ proof: await proof(key, { htu: URL_, iat: Math.floor(Date.now() / 1000) - 3600 }) }), /iat/],
  ['an iat from the future', async () => ({ proof: await proof(key, { htu: URL_, iat: Math.floor(Date.now() / 1000) + 3600 }) }), /iat/],
  ['an empty jti', async () => ({ proof: await proof(key, { htu: URL_, jti: '' }) }), /jti/],
  ['a bad signature', async () => {
    const p = await proof(key, { htu: URL_ })
    const other = await proof(await newKey(), { htu: URL_ })
    return { proof: `${p.split('.').slice(0, 2).join('.')}.${other.split('.')[2]}` }
  }, /signature/],
  ['a private key in the header', async () => {
    const k = await newKey()
    return { proof: await proof(k, { htu: URL_ }, { jwk: k.privateJwk }) }
  }, /public key/],
  ['an HMAC alg', async () => {
    const secret = new Uint8Array(32)
    return { proof: await new SignJWT({ htm: 'POST', htu: URL_, iat: Math.floor(Date.now() / 1000), jti: 'h' }).setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct' } }).sign(secret) }
  }, /alg must be one of/],
  ['alg none', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    return { proof: `${enc({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${enc({ htm: 'POST', htu: URL_, iat: 1, jti: 'n' })}.x` }
  }, /alg must be one of/],
  ['a key that does not fit its alg', async () => ({ proof: await proof(key, { htu: URL_ }, { jwk: (await newKey('RS256')).publicJwk }) }), /signature|usable/],
  ['a wrong ath', async () => ({ proof: await proof(key, { htu: URL_, accessToken: 'another-token' }), accessToken: 'the-token' }), /ath/],
  ['no ath when a token is presented', async () => ({ proof: await proof(key, { htu: URL_ }), accessToken: 'the-token' }), /ath/]
]

for (const [name, make, description] of refusals) {
  t.test(`refused with invalid_dpop_proof: ${name}`, async t => {
    const { proof: p, accessToken } = await make()
    const error = await refusal(verifier().verify({ proof: p, method: 'POST', url: URL_, ...(accessToken !== undefined && { accessToken }) }))
    t.equal(error.error, 'invalid_dpop_proof')
    t.match(error.description, description)
    t.match(error.description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/, 'the description is RFC 6749 §5.2-safe')
  })
}

t.test('a matching ath is accepted', async t => {
  await t.resolves(verifier().verify({ proof: await proof(key, { htu: URL_, htm: 'GET', accessToken: 'tok' }), method: 'GET', url: URL_, accessToken: 'tok' }))
})

t.test('a replayed jti is refused; the same jti from another key is not a replay', async t => {
  const v = verifier()
  const p = await proof(key, { htu: URL_, jti: 'once' })
  await v.verify({ proof: p, method: 'POST', url: URL_ })
  t.match((await refusal(v.verify({ proof: p, method: 'POST', url: URL_ }))).description, /already used/)
  await t.resolves(v.verify({ proof: await proof(await newKey(), { htu: URL_, jti: 'once' }), method: 'POST', url: URL_ }))
})

t.test('the iat window is configurable', async t => {
  const old = await proof(key, { htu: URL_, iat: Math.floor(Date.now() / 1000) - 120 })
  await refusal(verifier().verify({ proof: old, method: 'POST', url: URL_ }))
  await t.resolves(verifier({ iatWindow: 300 }).verify({ proof: old, method: 'POST', url: URL_ }))
})

t.test('an algorithm outside the configured allow-list is refused', async t => {
  const error = await refusal(verifier({ algorithms: ['EdDSA'] }).verify({ proof: await proof(key, { htu: URL_ }), method: 'POST', url: URL_ }))
  t.match(error.description, /alg must be one of EdDSA/)
})

t.test('with nonces: use_dpop_nonce and a nonce without one, accepted with it, refused once it is stale', async t => {
  let now = Date.UTC(2026, 0, 1)
  const v = verifier({ nonce: { secret: 'x'.repeat(32), lifetime: 60 }, clock: () => now })
  t.equal(v.requiresNonce, true)
  const iat = () => Math.floor(now / 1000)
  const missing = await refusal(v.verify({ proof: await proof(key, { htu: URL_, iat: iat() }), method: 'POST', url: URL_ }))
  t.equal(missing.error, 'use_dpop_nonce')
  t.type(missing.nonce, 'string')
  const ok = await v.verify({ proof: await proof(key, { htu: URL_, iat: iat(), nonce: missing.nonce as string }), method: 'POST', url: URL_ })
  t.equal(ok.nextNonce, missing.nonce)
  now += 121_000
  const stale = await refusal(v.verify({ proof: await proof(key, { htu: URL_, iat: iat(), nonce: missing.nonce as string }), method: 'POST', url: URL_ }))
  t.equal(stale.error, 'use_dpop_nonce')
  t.not(stale.nonce, missing.nonce)
})

t.test('a nonce from another key is refused', async t => {
  const a = verifier({ nonce: { secret: 'a'.repeat(32) } })
  const b = verifier({ nonce: { secret: 'b'.repeat(32) } })
  const error = await refusal(b.verify({ proof: await proof(key, { htu: URL_, nonce: a.currentNonce() as string }), method: 'POST', url: URL_ }))
  t.equal(error.error, 'use_dpop_nonce')
  t.match(error.description, /stale or unknown/)
})

t.test('bad options are refused at construction', async t => {
  t.throws(() => new DpopVerifier({} as never), /replay/)
  t.throws(() => verifier({ algorithms: ['HS256'] }), /algorithms/)
  t.throws(() => verifier({ algorithms: [] }), /algorithms/)
  t.throws(() => verifier({ iatWindow: 0 }), /iatWindow/)
  t.throws(() => verifier({ nonce: { secret: 'short' } }), /32 bytes/)
  t.throws(() => verifier({ nonce: { lifetime: 0 } }), /lifetime/)
})
