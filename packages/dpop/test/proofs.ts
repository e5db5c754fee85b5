import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { accessTokenHash } from '../src/index.js'

export interface Key { privateKey: CryptoKey, publicJwk: JWK, alg: string }

export async function newKey (alg = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { privateKey, publicJwk: await exportJWK(publicKey), alg }
}

export interface ProofClaims { htm?: string, htu?: string, iat?: number, jti?: string, ath?: string, nonce?: string, accessToken?: string }

/** A proof as a client makes it; every claim and header can be overridden to make a bad one. */
export async function proof (key: Key, claims: ProofClaims, header: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: claims.htm ?? 'POST',
    htu: claims.htu,
    iat: claims.iat ?? Math.floor(Date.now() / 1000),
    jti: claims.jti ?? randomUUID()
  }
  if (claims.accessToken !== undefined) payload.ath = accessTokenHash(claims.accessToken)
  if (claims.ath !== undefined) payload.ath = claims.ath
  if (claims.nonce !== undefined) payload.nonce = claims.nonce
  return await new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...header }).sign(key.privateKey)
}
