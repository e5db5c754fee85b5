import type { ClientLookup, DecisionResult, DeviceGrant } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CsrfTokens } from '../csrf.js'
import type { FormBody } from '../form.js'
import type { EntryLimits } from '../limits.js'
import type { PageOutcome } from './outcome.js'
import { subjectOf, typedCode } from './steps.js'

export interface RoutesContext {
  grant: DeviceGrant
  clients: ClientLookup
  csrf: CsrfTokens
  limits: EntryLimits | undefined
}

/** What a person typed, cut to what a page may echo back. */
const echo = (typed: string): string => typed.slice(0, 64)

/** The page steps' own work, each ending in a `PageOutcome` for the renderer. */
export function pageHandlers (ctx: RoutesContext) {
  const { grant, limits } = ctx

  async function clientName (clientId: string): Promise<string> {
    const client = await ctx.clients(clientId)
    return client?.name ?? clientId
  }

  /** Unknown, or someone else's: the same answer, so a bound grant reveals nothing. */
  async function refused (request: FastifyRequest, outcome: Exclude<DecisionResult, { ok: true }>, typed: string): Promise<PageOutcome> {
    if (outcome.reason === 'expired') return { kind: 'expired' }
    if (outcome.reason === 'already_decided') return { kind: 'used' }
    await limits?.failedEntry(request.ip)
    return { kind: 'entry', status: 400, value: echo(typed), error: 'unknownCode' }
  }

  /** GET: the entry form, or the confirm page for the code typed into it. */
  async function entry (request: FastifyRequest, reply: FastifyReply): Promise<PageOutcome> {
    const raw = (request.query as Record<string, unknown>).user_code
    const typed = typedCode(request)
    if (typed === undefined) return raw === undefined || raw === '' ? { kind: 'entry', status: 200 } : { kind: 'entry', status: 400, error: 'invalidCode' }
    const userCode = grant.userCodes.normalize(typed)
    if (userCode === undefined) {
      await limits?.failedEntry(request.ip)
      return { kind: 'entry', status: 400, value: echo(typed), error: 'invalidCode' }
    }
    const codeBlocked = await limits?.codeLookup(userCode)
    if (codeBlocked !== undefined) return { kind: 'tooMany', retryAfter: codeBlocked }
    const bound = await grant.bind(userCode, subjectOf(request))
    if (!bound.ok) return await refused(request, bound, typed)
    const { value, setCookie } = ctx.csrf.ensureCookie(request.headers.cookie)
    if (setCookie !== undefined) reply.header('set-cookie', setCookie)
    return { kind: 'confirm', grant: bound.grant, clientName: await clientName(bound.grant.clientId), csrf: ctx.csrf.tokenFor(value) }
  }

  /** POST: the person's decision on the confirm page. */
  async function decision (request: FastifyRequest): Promise<PageOutcome> {
    const form = (request.body ?? {}) as FormBody
    const subject = subjectOf(request)
    const { decision, user_code: typed } = form
    if ((decision !== 'approve' && decision !== 'deny') || typeof typed !== 'string') return { kind: 'entry', status: 400, error: 'invalidCode' }
    const outcome = decision === 'approve' ? await grant.approve(typed, subject) : await grant.deny(typed, subject)
    if (!outcome.ok) return await refused(request, outcome, typed)
    const name = await clientName(outcome.grant.clientId)
    return decision === 'approve' ? { kind: 'approved', clientName: name } : { kind: 'denied', clientName: name }
  }

  return { entry, decision }
}
