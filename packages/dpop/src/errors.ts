/** The two errors RFC 9449 defines for a proof (§5, §7.1, §8). */
export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce'

/**
 * A proof that cannot be accepted. `error` and `description` are the OAuth error body (the
 * description holds only RFC 6749 §5.2-safe characters); `nonce` is the fresh server nonce to
 * send back in a `DPoP-Nonce` header, when nonces are on.
 */
export class DpopProofError extends Error {
  readonly error: DpopErrorCode
  readonly description: string
  readonly nonce: string | undefined

  constructor (error: DpopErrorCode, description: string, nonce?: string) {
    super(`${error}: ${description}`)
    this.name = 'DpopProofError'
    this.error = error
    this.description = description
    this.nonce = nonce
  }

  toJSON (): { error: DpopErrorCode, error_description: string } {
    return { error: this.error, error_description: this.description }
  }
}

export function invalidProof (description: string): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', description)
}
