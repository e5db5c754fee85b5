import { createHash } from 'node:crypto'
import { calculateJwkThumbprint, compactVerify, importJWK, type CryptoKey, type JWK, type KeyObject } from 'jose'
import { invalidProof } from './errors.js'
import { normalizeHtu } from './htu.js'

/**
 * Asymmetric JWS algorithms a proof may use (RFC 9449 §4.3 step 5): never `none`, never HMAC
 * (a shared secret proves nothing about the client's own key).
 */
export const SUPPORTED_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'])

/** The default allow-list: what openid-client, oauth4webapi and most device SDKs sign with. */
export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'EdDSA', 'Ed25519', 'RS256', 'PS256'])

/** Far larger than any real proof (an RSA-4096 key is the bulk): bounds the parsing of garbage. */
const MAX_PROOF_LENGTH = 8192
const MAX_JTI_LENGTH = 256
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
/** Members that only a private (or symmetric) JWK has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

export interface ProofCheck {
  /** The request's method, e.g. `POST`. */
  method: string
  /** The URL the request was for, as this server knows itself (its issuer, not the Host header). */
  url: string
  /** Present at a resource server: the proof's `ath` must be its hash (RFC 9449 §4.3 step 12). */
  accessToken?: string
  algorithms: readonly string[]
  /** Now, in ms. */
  now: number
  /** Seconds `iat` may differ from now, either way. */
  iatWindow: number
}

/** What a valid proof establishes. */
export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, base64url: what a token is bound to (`cnf.jkt`). */
  jkt: string
  jti: string
  /** Seconds since the epoch. */
  iat: number
  /** The server nonce the proof carried, if any. */
  nonce: string | undefined
  /** The proof's public key. */
  jwk: JWK
}

/** RFC 9449 §4.2 `ath`: base64url SHA-256 of the access token's ASCII. */
export function accessTokenHash (accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url')
}

function decodeJson (segment: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw invalidProof(`the proof's ${what} is not base64url JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidProof(`the proof's ${what} is not a JSON object`)
  return value as Record<string, unknown>
}

function checkHeader (header: Record<string, unknown>, algorithms: readonly string[]): { alg: string, jwk: JWK } {
  if (header.typ !== 'dpop+jwt') throw invalidProof('the proof\'s typ must be dpop+jwt')
  const { alg, jwk } = header
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    throw invalidProof(`the proof's alg must be one of ${algorithms.join(', ')}`)
  }
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw invalidProof('the proof has no jwk header')
  if (PRIVATE_MEMBERS.some(m => m in jwk)) throw invalidProof('the proof\'s jwk must be a public key (it holds private or symmetric key material)')
  if (typeof (jwk as JWK).kty !== 'string') throw invalidProof('the proof\'s jwk has no kty')
  return { alg, jwk: jwk as JWK }
}

function checkClaims (claims: Record<string, unknown>, check: ProofCheck): { jti: string, iat: number, nonce: string | undefined } {
  const { jti, htm, htu, iat, nonce } = claims
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH) throw invalidProof('the proof needs a jti (a string of at most 256 characters)')
  if (htm !== check.method) throw invalidProof(`the proof's htm must be ${check.method}`)
  if (typeof htu !== 'string' || normalizeHtu(htu) === undefined || normalizeHtu(htu) !== normalizeHtu(check.url)) {
    throw invalidProof(`the proof's htu must be ${normalizeHtu(check.url) ?? check.url}`)
  }
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalidProof('the proof needs a numeric iat')
  if (Math.abs(iat * 1000 - check.now) > check.iatWindow * 1000) {
    throw invalidProof(`the proof's iat is more than ${check.iatWindow} seconds from the server's time`)
  }
  if (check.accessToken !== undefined && claims.ath !== accessTokenHash(check.accessToken)) {
    throw invalidProof('the proof\'s ath does not match the access token')
  }
  if (nonce !== undefined && typeof nonce !== 'string') throw invalidProof('the proof\'s nonce must be a string')
  return { jti, iat, nonce }
}

interface ProofHeaderKey { alg: string, jwk: JWK, key: CryptoKey | KeyObject | Uint8Array, jkt: string }

/**
 * Keys by the exact protected-header segment that carried them. A device sends the same header
 * (alg, typ, jwk) with every poll, so importing the key and hashing its thumbprint happen once
 * per device instead of once per proof; the signature is still verified on every proof.
 * Bounded: when full, the oldest entry goes.
 */
const headerKeys = new Map<string, ProofHeaderKey>()
const MAX_CACHED_HEADERS = 1000

async function headerKey (segment: string, algorithms: readonly string[]): Promise<ProofHeaderKey> {
  const cached = headerKeys.get(segment)
  // The allow-list may differ between verifiers: a cached key still has to be allowed here.
  if (cached !== undefined && algorithms.includes(cached.alg)) return cached
  const { alg, jwk } = checkHeader(decodeJson(segment, 'header'), algorithms)
  let key
  try {
    key = await importJWK(jwk, alg)
  } catch {
    throw invalidProof(`the proof's jwk is not a usable ${alg} public key`)
  }
  const entry = { alg, jwk, key, jkt: await calculateJwkThumbprint(jwk, 'sha256') }
  if (headerKeys.size >= MAX_CACHED_HEADERS) headerKeys.delete(headerKeys.keys().next().value as string)
  headerKeys.set(segment, entry)
  return entry
}

/**
 * RFC 9449 §4.3 steps 2–9, 11 and 12 for one `DPoP` header value: a compact JWS with
 * `typ: dpop+jwt`, an allowed asymmetric `alg`, a public `jwk` that verifies the signature, `htm`
 * and `htu` naming this request, `iat` in the window and (with an access token) a matching `ath`.
 * Nonce (step 10) and replay are the verifier's (see `DpopVerifier`). Throws `DpopProofError`.
 */
export async function verifyProof (proof: string, check: ProofCheck): Promise<VerifiedProof> {
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw invalidProof('the DPoP header is not a compact JWS')
  const [headerSegment = '', payloadSegment = ''] = proof.split('.')
  const { alg, jwk, key, jkt } = await headerKey(headerSegment, check.algorithms)
  try {
    await compactVerify(proof, key, { algorithms: [alg] })
  } catch {
    throw invalidProof('the proof\'s signature does not verify with its jwk')
  }
  const { jti, iat, nonce } = checkClaims(decodeJson(payloadSegment, 'payload'), check)
  return { jkt, jti, iat, nonce, jwk }
}
