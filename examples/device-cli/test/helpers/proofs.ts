import { createHmac, randomUUID, webcrypto } from 'node:crypto'
import { createProof, generateProofKey, type ProofInput, type ProofKey } from '@device-grant/dpop'

/** A device key usable both by hand-made proofs and by the libraries' DPoP handles. */
export interface DeviceKey extends ProofKey {
  keyPair: { privateKey: webcrypto.CryptoKey, publicKey: webcrypto.CryptoKey }
  privateJwk: webcrypto.JsonWebKey
}

export async function deviceKey (): Promise<DeviceKey> {
  const key = await generateProofKey('ES256')
  const privateKey = key.privateKey as webcrypto.CryptoKey
  const publicKey = await webcrypto.subtle.importKey('jwk', key.publicJwk as webcrypto.JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify'])
  return { ...key, keyPair: { privateKey, publicKey }, privateJwk: await webcrypto.subtle.exportKey('jwk', privateKey) }
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The refusals of RFC 9449 §4.3, each as the one thing wrong with an otherwise good proof. */
export async function badProofs (key: DeviceKey, htu: string): Promise<Record<string, string | string[]>> {
  const good = (input: Partial<ProofInput> = {}, header?: Record<string, unknown>) => createProof(key, { htm: 'POST', htu, ...input }, header)
  const [head, body] = (await good()).split('.')
  const foreignSignature = (await createProof(await generateProofKey(), { htm: 'POST', htu })).split('.')[2]
  const hmacInput = `${b64({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: 'c2VjcmV0' } })}.${b64({ htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID() })}`
  return {
    'wrong htu': await good({ htu: new URL('/elsewhere', htu).href }),
    'wrong htm': await good({ htm: 'GET' }),
    'stale iat': await good({ iat: Math.floor(Date.now() / 1000) - 600 }),
    'bad signature': `${head}.${body}.${foreignSignature}`,
    'private key in the header': await good({}, { jwk: key.privateJwk }),
    'HMAC alg': `${hmacInput}.${createHmac('sha256', 'secret').update(hmacInput).digest('base64url')}`,
    'two headers': [await good(), await good()],
    'malformed header': 'this.is not-a-jwt'
  }
}
