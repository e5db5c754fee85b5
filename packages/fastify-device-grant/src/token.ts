import { DEVICE_CODE_GRANT_TYPE, OAuthError, type DeviceGrant } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ClientAuthenticator } from './client-auth.js'
import { presentedCredentials } from './client-credentials.js'
import { formParams, param } from './form.js'
import { DpopProofError, requireProof, sendDpopError, type DpopSupport } from './dpop.js'
import { replyWithError, sendJson, sendRefusal } from './oauth-reply.js'

export type TokenHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>

/**
 * RFC 8628 §3.4–3.5 as a plain Fastify handler. It answers every outcome itself (errors
 * included), so an existing OAuth server can call it from its own token route for the device
 * grant type; it accepts bodies parsed by `@fastify/formbody` as well as by this plugin.
 */
export function tokenHandler (grant: DeviceGrant, authenticate: ClientAuthenticator, dpop?: DpopSupport, origin = ''): TokenHandler {
  return async function handleToken (request, reply) {
    try {
      const form = formParams(request)
      const grantType = param(form, 'grant_type')
      if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required')
      if (grantType !== DEVICE_CODE_GRANT_TYPE) throw new OAuthError('unsupported_grant_type', 'only the device_code grant type is supported here')
      // RFC 9449 §4.3: the proof is checked before anything about the grant. No header, no work.
      const dpopJkt = dpop === undefined || request.headers.dpop === undefined ? undefined : await dpop.keyOf(request, reply, origin)
      const { client } = await authenticate(presentedCredentials(request, form), request.ip)
      const deviceCode = param(form, 'device_code')
      if (deviceCode === undefined) throw new OAuthError('invalid_request', 'device_code is required')
      requireProof(client, dpopJkt, dpop)
      // Refusals come back as values, not thrown Errors: a device polls for minutes, and an
      // Error's stack trace per poll would cost more than everything else the endpoint does.
      const outcome = await grant.pollOutcome(dpopJkt === undefined ? { client, deviceCode } : { client, deviceCode, dpopJkt })
      return outcome.ok ? sendJson(reply, outcome.token) : sendRefusal(reply, outcome.error, outcome.description)
    } catch (err) {
      if (err instanceof DpopProofError) return sendDpopError(reply, err)
      return replyWithError(request, reply, err)
    }
  }
}
