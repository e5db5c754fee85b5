import type { ClientLookup, DeviceGrant } from '@device-grant/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CsrfTokens } from '../csrf.js'
import { EntryLimits, type LimitsContext } from '../limits.js'
import { acceptFormsOnly } from './body.js'
import { renderErrorsAsPages } from './error-handler.js'
import { addSecurityHeaders } from './headers.js'
import type { Authenticate, PagesOptions } from './options.js'
import type { PageOutcome } from './outcome.js'
import { PageRenderer } from './render.js'
import { networkCheck } from './proximity.js'
import { PageHandlers } from './routes.js'
import { pageSteps, typedCode } from './steps.js'

export interface PagesContext {
  grant: DeviceGrant
  clients: ClientLookup
  authenticate: Authenticate
  /** The verification page's path, for the forms' action. */
  action: string
  options: PagesOptions
  secure: boolean
  /** Where the limits count (the store's `hit()`, or this process), and how addresses group. */
  limits: LimitsContext
}

/** The verification pages (RFC 8628 §3.3): entry form, confirm, result, as routes of named steps. */
export async function registerPages (instance: FastifyInstance, ctx: PagesContext): Promise<void> {
  const { grant, options } = ctx
  const csrf = new CsrfTokens(options.csrfSecret, ctx.secure)
  if (options.csrfSecret === undefined && grant.store.capabilities?.sharedAcrossProcesses === true) {
    instance.log.warn('fastify-device-grant: the store is shared across processes but pages.csrfSecret is not set; forms will fail across instances')
  }
  const limits = options.rateLimit === false ? undefined : new EntryLimits(ctx.limits, options.rateLimit ?? {}, event => { grant.emit(event) })
  const { userCodes } = grant
  const renderer = await PageRenderer.register(instance, {
    options,
    action: ctx.action,
    example: userCodes.format(userCodes.charset.repeat(userCodes.length).slice(0, userCodes.length)),
    inputMode: /^[0-9]+$/.test(userCodes.charset) ? 'numeric' : 'text'
  })
  addSecurityHeaders(instance)
  acceptFormsOnly(instance)
  renderErrorsAsPages(instance, renderer)

  const common = { renderer, authenticate: ctx.authenticate, csrf, limits }
  const entrySteps = pageSteps({ ...common, applies: request => typedCode(request) !== undefined })
  const decisionSteps = pageSteps({ ...common, applies: () => true })
  const proximity = options.proximity ?? 'warn'
  const network = networkCheck(proximity, options.sameNetwork)
  const handlers = new PageHandlers({ grant, clients: ctx.clients, csrf, limits, network, proximity })
  const rendered = (step: (request: FastifyRequest, reply: FastifyReply) => Promise<PageOutcome>) =>
    async (request: FastifyRequest, reply: FastifyReply) => await renderer.send(request, reply, await step(request, reply))

  instance.get('/', { preHandler: [entrySteps.limits, entrySteps.signedIn] }, rendered(handlers.entry))
  instance.post('/', { preHandler: [decisionSteps.limits, decisionSteps.signedIn, decisionSteps.csrf] }, rendered(handlers.decision))
}
