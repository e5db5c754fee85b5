import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'

/** A DPoP key pair as a device holds it (ES256), made with node:crypto alone. */
export interface Key {
  privateKey: KeyObject
  publicJwk: Record<string, string>
  privateJwk: Record<string, string>
  /** RFC 7638 SHA-256 thumbprint. */
  jkt: string
}

export function newKey (): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const publicJwk = publicKey.export({ format: 'jwk' }) as Record<string, string>
  const { crv, kty, x, y } = publicJwk
  const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
  return { privateKey, publicJwk, privateJwk: privateKey.export({ format: 'jwk' }) as Record<string, string>, jkt }
}

export interface ProofClaims { htu: string, htm?: string, iat: number, jti?: string, nonce?: string }

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A signed proof; header members can be overridden to make a bad one. */
export function proof (key: Key, claims: ProofClaims, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...header })}.${b64({ htm: 'POST', jti: randomUUID(), ...claims })}`
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}
