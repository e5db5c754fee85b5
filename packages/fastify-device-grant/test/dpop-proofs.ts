import { webcrypto } from 'node:crypto'
import { createProof, generateProofKey, type ProofKey } from '@device-grant/dpop'

/** A device's key, and its private half as a JWK: what a careless client might put in the header. */
export type Key = ProofKey & { privateJwk: Record<string, unknown> }

export async function newKey (): Promise<Key> {
  const key = await generateProofKey()
  return { ...key, privateJwk: await webcrypto.subtle.exportKey('jwk', key.privateKey as webcrypto.CryptoKey) as Record<string, unknown> }
}

export interface ProofClaims { htu: string, htm?: string, iat: number, jti?: string, nonce?: string }

/** A POST proof; `header` overrides protected members to make a bad one. */
export async function proof (key: Key, claims: ProofClaims, header: Record<string, unknown> = {}): Promise<string> {
  return await createProof(key, { htm: 'POST', ...claims }, header)
}
