import { exportJWK } from 'jose'
import { createProof, generateProofKey, type ProofKey } from '../src/index.js'

export type Key = ProofKey & { privateJwk: Record<string, unknown> }

export async function newKey (alg = 'ES256'): Promise<Key> {
  const key = await generateProofKey(alg)
  return { ...key, privateJwk: await exportJWK(key.privateKey) }
}

export interface ProofClaims { htm?: string, htu: string, iat?: number, jti?: string, nonce?: string, accessToken?: string }

/** A proof with POST as the default method; `header` overrides protected members to make a bad one. */
export async function proof (key: Key, claims: ProofClaims, header: Record<string, unknown> = {}): Promise<string> {
  return await createProof(key, { htm: 'POST', ...claims }, header)
}
