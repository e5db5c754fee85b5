import { createHash } from 'node:crypto'
import { DpopProofError, invalidProof } from './errors.js'
import { NonceSource, type NonceOptions } from './nonce.js'
import { DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS, verifyProof, type VerifiedProof } from './proof.js'
import type { ReplayStore } from './replay.js'

export interface DpopVerifierOptions {
  /** Where `jti`s are remembered (required: a verifier without replay detection is not RFC 9449). */
  replay: ReplayStore
  /** Allowed `alg`s, a subset of `SUPPORTED_ALGORITHMS`. Default `DEFAULT_ALGORITHMS`. */
  algorithms?: readonly string[]
  /** Seconds a proof's `iat` may lie before or after the server's time. Default 60. */
  iatWindow?: number
  /** Server nonces (RFC 9449 §8): `true` for a per-process key, or the options. Default off. */
  nonce?: boolean | NonceOptions
  /** Ms since the epoch. Default `Date.now`. */
  clock?: () => number
}

/** One request as the verifier sees it. */
export interface DpopRequest {
  /** The `DPoP` header as the HTTP layer gave it: Node joins repeated headers with ", ". */
  proof: string | readonly string[] | undefined
  method: string
  /** The request's absolute URL as this server names itself; query and fragment are ignored. */
  url: string
  /** At a resource server: the access token the request presents (its hash must be the proof's `ath`). */
  accessToken?: string
}

export interface VerifiedDpopRequest extends VerifiedProof {
  /** The nonce to send back in `DPoP-Nonce` (when nonces are on). */
  nextNonce: string | undefined
}

export const DEFAULT_IAT_WINDOW = 60

/** Prefix of the replay keys: one namespace beside whatever else the store counts. */
const REPLAY_KEY_PREFIX = 'dpop-jti:'

/**
 * Verifies `DPoP` proofs (RFC 9449 §4.3) for one server: the token endpoint, or a resource
 * server before it accepts a DPoP-bound access token. Every check of §4.3 (the binding of the
 * key to the access token, step 13, is the caller's: compare `jkt` with the token's `cnf.jkt`).
 */
export class DpopVerifier {
  readonly algorithms: readonly string[]
  readonly iatWindow: number
  readonly #replay: ReplayStore
  readonly #nonces: NonceSource | undefined
  readonly #clock: () => number

  constructor (options: DpopVerifierOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('@device-grant/dpop: options are required')
    if (typeof options.replay?.useOnce !== 'function') throw new TypeError('@device-grant/dpop: replay must have a useOnce(key, { now, expiresAt }) method')
    const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS
    if (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some(a => !SUPPORTED_ALGORITHMS.includes(a))) {
      throw new TypeError(`@device-grant/dpop: algorithms must be a non-empty list drawn from ${SUPPORTED_ALGORITHMS.join(', ')}`)
    }
    const iatWindow = options.iatWindow ?? DEFAULT_IAT_WINDOW
    if (!Number.isInteger(iatWindow) || iatWindow < 1 || iatWindow > 3600) {
      throw new TypeError(`@device-grant/dpop: iatWindow must be an integer from 1 to 3600 seconds, got ${String(iatWindow)}`)
    }
    this.algorithms = Object.freeze([...algorithms])
    this.iatWindow = iatWindow
    this.#replay = options.replay
    const nonce = options.nonce ?? false
    this.#nonces = nonce === false ? undefined : new NonceSource(nonce === true ? {} : nonce)
    this.#clock = options.clock ?? Date.now
  }

  /** Whether proofs must carry a server nonce. */
  get requiresNonce (): boolean {
    return this.#nonces !== undefined
  }

  /** The nonce to advertise now (undefined when nonces are off). */
  currentNonce (): string | undefined {
    return this.#nonces?.current(this.#clock())
  }

  /**
   * Verifies the request's proof. Throws `DpopProofError`: `invalid_dpop_proof`, or
   * `use_dpop_nonce` with the nonce to retry with.
   */
  async verify (request: DpopRequest): Promise<VerifiedDpopRequest> {
    const proof = singleProof(request.proof)
    const now = this.#clock()
    const verified = await verifyProof(proof, {
      method: request.method,
      url: request.url,
      ...(request.accessToken !== undefined && { accessToken: request.accessToken }),
      algorithms: this.algorithms,
      now,
      iatWindow: this.iatWindow
    })
    const nextNonce = this.#nonces?.current(now)
    if (this.#nonces !== undefined && (verified.nonce === undefined || !this.#nonces.accepts(verified.nonce, now))) {
      throw new DpopProofError('use_dpop_nonce', verified.nonce === undefined ? 'a DPoP nonce is required' : 'the DPoP nonce is stale or unknown', nextNonce)
    }
    // The jti stays used for as long as its iat would be accepted: a later replay fails the window.
    const expiresAt = Math.max(verified.iat * 1000 + this.iatWindow * 1000, now) + 1000
    const key = REPLAY_KEY_PREFIX + createHash('sha256').update(`${verified.jkt} ${verified.jti}`).digest('base64url')
    if (!await this.#replay.useOnce(key, { now, expiresAt })) throw invalidProof('the proof\'s jti was already used')
    return { ...verified, nextNonce }
  }
}

/** RFC 9449 §4.3 step 1: exactly one `DPoP` header, holding one JWT. */
function singleProof (value: string | readonly string[] | undefined): string {
  if (value === undefined) throw invalidProof('a DPoP header is required')
  if (typeof value !== 'string') {
    if (value.length !== 1) throw invalidProof('exactly one DPoP header is allowed')
    return singleProof(value[0])
  }
  // A compact JWS has no comma: one means the header was sent twice and joined.
  if (value.includes(',')) throw invalidProof('exactly one DPoP header is allowed')
  if (value.trim() === '') throw invalidProof('the DPoP header is empty')
  return value.trim()
}
