import type { DeviceGrant } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ClientAuthenticator } from './client-auth-limit.js'
import { presentedCredentials } from './client-credentials.js'
import { formParams, param } from './form.js'
import { replyWithError, sendJson } from './oauth-reply.js'

/** RFC 8628 §3.1–3.2: authenticate the client exactly as at the token endpoint, then mint codes. */
export function deviceAuthorizationHandler (grant: DeviceGrant, authenticate: ClientAuthenticator, verificationUri: string) {
  return async function handleDeviceAuthorization (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const form = formParams(request)
      const scope = param(form, 'scope')
      const { client } = await authenticate(presentedCredentials(request, form), request.ip)
      const userAgent = request.headers['user-agent']
      const response = await grant.authorize({
        client,
        verificationUri,
        ip: request.ip,
        ...(scope !== undefined && { scope }),
        ...(typeof userAgent === 'string' && { userAgent })
      })
      return sendJson(reply, response)
    } catch (err) {
      return replyWithError(request, reply, err)
    }
  }
}
