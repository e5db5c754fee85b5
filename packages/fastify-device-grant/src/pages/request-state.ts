import type { FastifyRequest } from 'fastify'

/**
 * What the pages' steps learn about a request, kept off the request object so that no
 * decoration shows up in the app's own `FastifyRequest` type.
 */
export interface PageRequestState {
  /** The CSP nonce of this response's one inline style. */
  nonce: string
  /** The signed-in subject, once the signed-in step has run. */
  subject?: string
}

const states = new WeakMap<FastifyRequest, PageRequestState>()

export function setPageState (request: FastifyRequest, state: PageRequestState): void {
  states.set(request, state)
}

export function pageState (request: FastifyRequest): PageRequestState {
  let state = states.get(request)
  if (state === undefined) {
    state = { nonce: '' }
    states.set(request, state)
  }
  return state
}
