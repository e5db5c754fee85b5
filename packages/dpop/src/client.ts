import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import { accessTokenHash } from './proof.js'

/** A device's DPoP key pair, with what a proof and a server need of it. */
export interface ProofKey {
  privateKey: CryptoKey
  publicJwk: JWK
  alg: string
  /** RFC 7638 SHA-256 thumbprint: what a token bound to this key carries as `cnf.jkt`. */
  jkt: string
}

/** A fresh key pair for proofs (ES256 unless told). Keep the private key on the device. */
export async function generateProofKey (alg = 'ES256'): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { privateKey, publicJwk, alg, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
}

export interface ProofInput {
  /** The request's method. */
  htm: string
  /** The request's URL (query and fragment are ignored by servers). */
  htu: string
  /** At a resource server: the access token sent with the proof (becomes `ath`). */
  accessToken?: string
  /** The latest `DPoP-Nonce` the server sent. */
  nonce?: string
  /** Seconds since the epoch. Default now. */
  iat?: number
  /** Default a random UUID: never reuse one. */
  jti?: string
}

/**
 * An RFC 9449 §4.2 proof for one request, for clients that do not have a DPoP-aware library
 * (openid-client and oauth4webapi make their own). `header` adds protected header members.
 */
export async function createProof (key: ProofKey, input: ProofInput, header: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = {
    htm: input.htm,
    htu: input.htu,
    iat: input.iat ?? Math.floor(Date.now() / 1000),
    jti: input.jti ?? randomUUID()
  }
  if (input.accessToken !== undefined) payload.ath = accessTokenHash(input.accessToken)
  if (input.nonce !== undefined) payload.nonce = input.nonce
  return await new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...header }).sign(key.privateKey)
}
