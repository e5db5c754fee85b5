import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { setPageState } from './request-state.js'

/**
 * Security headers on every page answer, the app's login redirect included. No script at all;
 * the one inline style is allowed by its nonce. Never framed (RFC 9700 §4.16).
 */
export function addSecurityHeaders (instance: FastifyInstance): void {
  instance.addHook('onRequest', async (request, reply) => {
    const nonce = randomBytes(16).toString('base64')
    setPageState(request, { nonce })
    reply
      .header('content-security-policy', `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`)
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
  })
}
