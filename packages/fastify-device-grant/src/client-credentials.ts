import { OAuthError, parseBasicAuthorization, type PresentedCredentials } from '@device-grant/core'
import type { FastifyRequest } from 'fastify'
import { param, type FormBody } from './form.js'

/**
 * What the request presents for client authentication. Only a Basic `Authorization` header
 * counts as an attempt (other schemes are not client authentication here and are ignored).
 */
export function presentedCredentials (request: FastifyRequest, form: FormBody): PresentedCredentials {
  const query = request.query as Record<string, unknown> | undefined
  // RFC 6749 §2.3.1: credentials MUST NOT travel in the request URI.
  if (query !== undefined && query !== null && typeof query === 'object' && 'client_secret' in query) {
    throw new OAuthError('invalid_request', 'client_secret must not be sent in the query string')
  }
  const presented: PresentedCredentials = {}
  const header = request.headers.authorization
  if (typeof header === 'string') {
    const basic = parseBasicAuthorization(header)
    if (basic !== undefined) presented.basic = basic
  }
  const clientId = param(form, 'client_id')
  const clientSecret = param(form, 'client_secret')
  if (clientId !== undefined) presented.clientId = clientId
  if (clientSecret !== undefined) presented.clientSecret = clientSecret
  return presented
}
