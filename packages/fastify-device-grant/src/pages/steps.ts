import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { CsrfTokens } from '../csrf.js'
import type { FormBody } from '../form.js'
import type { EntryLimits } from '../limits.js'
import type { Authenticate } from './options.js'
import type { PageRenderer } from './render.js'
import { pageState } from './request-state.js'

/** The code typed on the entry form, when there is one to check. */
export function typedCode (request: FastifyRequest): string | undefined {
  const typed = (request.query as Record<string, unknown>).user_code
  return typeof typed === 'string' && typed !== '' ? typed : undefined
}

/** The steps before a page's own work, in order: limits, then signed-in, then CSRF. */
export interface PageSteps {
  /** Blocked sources learn nothing, not even whether a code exists. */
  limits: preHandlerAsyncHookHandler
  signedIn: preHandlerAsyncHookHandler
  csrf: preHandlerAsyncHookHandler
}

export interface StepsContext {
  renderer: PageRenderer
  authenticate: Authenticate
  csrf: CsrfTokens
  limits: EntryLimits | undefined
  /** Whether the request carries a code to act on: the bare entry form needs no sign-in. */
  applies: (request: FastifyRequest) => boolean
}

export function pageSteps (ctx: StepsContext): PageSteps {
  const { renderer } = ctx
  return {
    async limits (request, reply) {
      if (ctx.limits === undefined || !ctx.applies(request)) return
      const retryAfter = await ctx.limits.addressBlocked(request.ip)
      if (retryAfter !== undefined) return await renderer.send(request, reply, { kind: 'tooMany', retryAfter })
    },

    async signedIn (request, reply) {
      if (!ctx.applies(request)) return
      const subject = await ctx.authenticate(request, reply)
      if (reply.sent) return reply
      if (typeof subject === 'string' && subject !== '') {
        pageState(request).subject = subject
        return
      }
      return await renderer.send(request, reply, { kind: 'signIn' })
    },

    async csrf (request, reply) {
      const form = (request.body ?? {}) as FormBody
      if (!ctx.csrf.verify(request.headers.cookie, form.csrf_token)) return await renderer.send(request, reply, { kind: 'formExpired' })
    }
  }
}

/** The subject the signed-in step found. */
export function subjectOf (request: FastifyRequest): string {
  const subject = pageState(request).subject
  if (subject === undefined) throw new Error('fastify-device-grant: page step ran before the signed-in step')
  return subject
}
