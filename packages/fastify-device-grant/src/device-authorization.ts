import type { AuthorizeInput, DeviceGrant } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ClientAuthenticator } from './client-auth.js'
import { presentedCredentials } from './client-credentials.js'
import { formParams, param } from './form.js'
import { DpopProofError, sendDpopError, type DpopSupport } from './dpop.js'
import { replyWithError, sendJson } from './oauth-reply.js'

/**
 * RFC 8628 §3.1–3.2: authenticate the client exactly as at the token endpoint, then mint codes.
 * A valid DPoP proof here binds the device code to its key (see docs/dpop.md).
 */
export function deviceAuthorizationHandler (grant: DeviceGrant, authenticate: ClientAuthenticator, verificationUri: string, dpop?: DpopSupport, origin = '') {
  return async function handleDeviceAuthorization (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const form = formParams(request)
      const scope = param(form, 'scope')
      const ip = request.ip
      const dpopJkt = dpop === undefined || request.headers.dpop === undefined ? undefined : await dpop.keyOf(request, reply, origin)
      const { client } = await authenticate(presentedCredentials(request, form), ip)
      const input: AuthorizeInput = { client, verificationUri, ip }
      if (scope !== undefined) input.scope = scope
      if (dpopJkt !== undefined) input.dpopJkt = dpopJkt
      const userAgent = request.headers['user-agent']
      if (typeof userAgent === 'string') input.userAgent = userAgent
      return sendJson(reply, await grant.authorize(input))
    } catch (err) {
      if (err instanceof DpopProofError) return sendDpopError(reply, err)
      return replyWithError(request, reply, err)
    }
  }
}
