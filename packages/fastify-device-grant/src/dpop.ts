import { OAuthError, type DeviceClient, type DeviceGrantStore } from '@device-grant/core'
import { DpopProofError, DpopVerifier, InMemoryReplayCache, type NonceOptions, type ReplayStore } from '@device-grant/dpop'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import { sendJson } from './oauth-reply.js'

/** The `dpop` option: RFC 9449 proofs at both OAuth endpoints. */
export interface DpopOptions {
  /** Allowed proof `alg`s (asymmetric only). Default ES256, EdDSA, Ed25519, RS256, PS256. */
  algorithms?: readonly string[]
  /** Seconds a proof's `iat` may lie before or after the server's time. Default 60. */
  iatWindow?: number
  /**
   * Server nonces (RFC 9449 §8): `true` for a per-process key (one instance), or `{ secret }`
   * shared by every instance (at least 32 bytes) and `lifetime` in seconds (default 300).
   * Default off.
   */
  nonce?: boolean | NonceOptions
  /**
   * Where proof `jti`s are remembered. Default: the store's `useOnce` (shared by every instance
   * on Redis or PostgreSQL); for a store without it, this process's memory, with a warning when
   * the store is shared (a proof could then be replayed once at each other instance).
   */
  replay?: ReplayStore
}

/** DPoP at the plugin's endpoints, as the handlers use it. */
export interface DpopSupport {
  readonly algorithms: readonly string[]
  /** The proof's key thumbprint; undefined when the request carries no `DPoP` header. Throws `DpopProofError`. */
  keyOf: (request: FastifyRequest, reply: FastifyReply, origin: string) => Promise<string | undefined>
}

export function validateDpopOptions (value: boolean | DpopOptions | undefined): void {
  if (value === undefined || typeof value === 'boolean') return
  if (value === null || typeof value !== 'object') throw new TypeError('fastify-device-grant: dpop must be a boolean or an object')
}

function replayStoreFor (store: DeviceGrantStore, log: FastifyBaseLogger): ReplayStore {
  if (typeof store.useOnce === 'function') return { useOnce: store.useOnce.bind(store) }
  if (store.capabilities?.sharedAcrossProcesses === true) {
    log.warn('fastify-device-grant: the store has no useOnce(); DPoP proof replays are detected in this process only, so a proof may be replayed once at each other instance')
  }
  return new InMemoryReplayCache()
}

/** Builds DPoP support from the `dpop` option; undefined when it is off. Throws on bad options. */
export function createDpopSupport (option: boolean | DpopOptions | undefined, store: DeviceGrantStore, clock: () => number, log: FastifyBaseLogger): DpopSupport | undefined {
  if (option === undefined || option === false) return undefined
  const options = option === true ? {} : option
  let verifier: DpopVerifier
  try {
    verifier = new DpopVerifier({
      replay: options.replay ?? replayStoreFor(store, log),
      clock,
      ...(options.algorithms !== undefined && { algorithms: options.algorithms }),
      ...(options.iatWindow !== undefined && { iatWindow: options.iatWindow }),
      ...(options.nonce !== undefined && { nonce: options.nonce })
    })
  } catch (err) {
    throw new TypeError(`fastify-device-grant: dpop: ${(err as Error).message.replace(/^@device-grant\/dpop: /, '')}`)
  }
  return {
    algorithms: verifier.algorithms,
    async keyOf (request, reply, origin) {
      const proof = request.headers.dpop
      if (proof === undefined) return undefined
      // htu is checked against this server's own name (the issuer), never the Host header, so
      // it is right behind any proxy; the path is the one the request was routed by.
      const query = request.url.indexOf('?')
      const url = origin + (query < 0 ? request.url : request.url.slice(0, query))
      const { jkt, nextNonce } = await verifier.verify({ proof, method: request.method, url })
      if (nextNonce !== undefined) reply.header('dpop-nonce', nextNonce)
      return jkt
    }
  }
}

/** RFC 9449 §5.2: a client registered with `dpop_bound_access_tokens` gets no token without a proof. */
export function requireProof (client: DeviceClient, jkt: string | undefined, dpop: DpopSupport | undefined): void {
  if (client.dpopBoundAccessTokens !== true || jkt !== undefined) return
  throw new OAuthError('invalid_dpop_proof', dpop === undefined
    ? 'this client requires DPoP, which this server has not enabled'
    : 'this client must send a DPoP proof with every token request')
}

/** RFC 9449 §5 and §8: 400 with the proof's error, and the nonce to retry with. */
export function sendDpopError (reply: FastifyReply, err: DpopProofError): FastifyReply {
  if (err.nonce !== undefined) reply.header('dpop-nonce', err.nonce)
  return sendJson(reply, err.toJSON(), 400)
}

export { DpopProofError }
