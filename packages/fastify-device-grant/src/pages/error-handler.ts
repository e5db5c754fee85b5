import { StoreUnavailableError } from '@device-grant/core'
import type { FastifyInstance } from 'fastify'
import type { PageOutcome } from './outcome.js'
import type { PageRenderer } from './render.js'

/** Whatever a step throws still ends as a page: 503 for an unreachable store, 400 for bad HTTP. */
export function renderErrorsAsPages (instance: FastifyInstance, renderer: PageRenderer): void {
  instance.setErrorHandler(async (err, request, reply) => {
    let outcome: PageOutcome
    if (err instanceof StoreUnavailableError) {
      outcome = { kind: 'unavailable', retryAfter: err.retryAfter }
    } else {
      const status = (err as { statusCode?: number }).statusCode
      if (typeof status === 'number' && status >= 400 && status < 500) {
        outcome = { kind: 'badRequest' }
      } else {
        request.log.error({ err }, 'fastify-device-grant: verification page failed')
        outcome = { kind: 'error' }
      }
    }
    return await renderer.send(request, reply, outcome)
  })
}
