import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { accessTokenHash } from '../src/index.js'

export interface Key {
  privateKey: CryptoKey
  publicJwk: JWK
  /** The private key as a JWK: what a careless client might put in the header. */
  privateJwk: JWK
  /** RFC 7638 SHA-256 thumbprint. */
  jkt: string
  alg: string
}

/** A fresh key pair, as a DPoP client generates one. */
export async function newKey (alg = 'ES256'): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk, 'sha256'), alg }
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
