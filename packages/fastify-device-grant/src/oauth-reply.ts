import { isOAuthError, OAuthError, sanitizeDescription, StoreUnavailableError, type PollRefusalCode } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** RFC 6749 §5.1: responses carrying credentials must not be cached, errors included. */
function noStore (reply: FastifyReply): FastifyReply {
  return reply
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
}

export function sendJson (reply: FastifyReply, body: unknown, status = 200): FastifyReply {
  return noStore(reply).code(status).send(JSON.stringify(body))
}

/** Serialized refusal bodies by description. Bounded: slow_down's description varies with the interval. */
const refusalBodies = new Map<string, { error: PollRefusalCode, body: string }>()
const MAX_CACHED_REFUSALS = 64

/**
 * A poll's refusal: the very answer `sendOAuthError` gives for `new OAuthError(error,
 * description)` (every refusal is a 400 with no challenge and no Retry-After), without building
 * the Error, and with the body serialized once per distinct refusal rather than per poll.
 */
export function sendRefusal (reply: FastifyReply, error: PollRefusalCode, description: string): FastifyReply {
  const cached = refusalBodies.get(description)
  let body: string
  if (cached !== undefined && cached.error === error) {
    body = cached.body
  } else {
    body = JSON.stringify({ error, error_description: sanitizeDescription(description) })
    if (refusalBodies.size < MAX_CACHED_REFUSALS) refusalBodies.set(description, { error, body })
  }
  return noStore(reply).code(400).send(body)
}

export function sendOAuthError (reply: FastifyReply, err: OAuthError): FastifyReply {
  if (err.statusCode === 401 && err.basicChallenge) {
    reply.header('www-authenticate', 'Basic realm="device-grant", charset="UTF-8"')
  }
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter))
  return sendJson(reply, err.toJSON(), err.statusCode)
}

/**
 * Any error to an RFC 6749 §5.2 answer: OAuth errors as they are, an unreachable store as 503,
 * a client's malformed HTTP (framework 4xx) as `invalid_request`, the rest as a logged 500.
 */
export function replyWithError (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (isOAuthError(err)) return sendOAuthError(reply, err)
  if (err instanceof StoreUnavailableError) {
    request.log.warn({ err }, 'device grant store unavailable')
    return sendOAuthError(reply, new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable; try again later', { retryAfter: err.retryAfter }))
  }
  const status = (err as { statusCode?: unknown } | null)?.statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendOAuthError(reply, new OAuthError('invalid_request', describeClientError(err as { code?: unknown, statusCode: number })))
  }
  request.log.error({ err }, 'device grant request failed')
  return sendOAuthError(reply, new OAuthError('server_error', 'the server could not complete the request'))
}

function describeClientError (err: { code?: unknown, statusCode: number }): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'the request body must be application/x-www-form-urlencoded'
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'the request body is too large'
    default:
      return err.statusCode === 413 ? 'the request body is too large' : 'the request could not be read'
  }
}
