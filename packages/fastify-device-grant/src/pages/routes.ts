import type { ClientLookup, DecisionResult, DeviceGrant } from '@device-grant/core'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CsrfTokens } from '../csrf.js'
import type { FormBody } from '../form.js'
import type { Attempt, EntryLimits } from '../limits.js'
import type { PageOutcome } from './outcome.js'
import type { Proximity } from './options.js'
import { networkFacts, type Network } from './proximity.js'
import { subjectOf, typedCode } from './steps.js'

export interface RoutesContext {
  grant: DeviceGrant
  clients: ClientLookup
  csrf: CsrfTokens
  limits: EntryLimits | undefined
  network: (deviceIp: string | undefined, browserIp: string) => Promise<Network>
  proximity: Proximity
}

/** What a person typed, cut to what a page may echo back. */
const echo = (typed: string): string => typed.slice(0, 64)

type Counted = { attempt?: Attempt, outcome?: undefined } | { outcome: PageOutcome }

/** The page steps' own work, each ending in a `PageOutcome` for the renderer. */
export class PageHandlers {
  readonly #ctx: RoutesContext

  constructor (ctx: RoutesContext) {
    this.#ctx = ctx
  }

  /** GET: the entry form, or the confirm page for the code typed into it. */
  entry = async (request: FastifyRequest, reply: FastifyReply): Promise<PageOutcome> => {
    const { grant, limits } = this.#ctx
    const raw = (request.query as Record<string, unknown>).user_code
    const typed = typedCode(request)
    if (typed === undefined) return raw === undefined || raw === '' ? { kind: 'entry', status: 200 } : { kind: 'entry', status: 400, error: 'invalidCode' }
    const counted = await this.#count(request)
    if (counted.outcome !== undefined) return counted.outcome
    const { attempt } = counted
    const userCode = grant.userCodes.normalize(typed)
    if (userCode === undefined) {
      if (attempt !== undefined) await limits?.failed(attempt)
      return { kind: 'entry', status: 400, value: echo(typed), error: 'invalidCode' }
    }
    const codeBlocked = await limits?.codeLookup(userCode)
    if (codeBlocked !== undefined) {
      await this.#settled(attempt)
      return { kind: 'tooMany', retryAfter: codeBlocked }
    }
    const bound = await grant.bind(userCode, subjectOf(request))
    if (!bound.ok) return await this.#refused(attempt, bound, typed)
    await this.#settled(attempt)
    const network = await this.#ctx.network(bound.grant.ip, request.ip)
    if (network === 'different' && this.#ctx.proximity === 'require') return { kind: 'differentNetwork' }
    const { csrf } = this.#ctx
    const { value, setCookie } = csrf.ensureCookie(request.headers.cookie)
    if (setCookie !== undefined) reply.header('set-cookie', setCookie)
    return { kind: 'confirm', grant: bound.grant, clientName: await this.#clientName(bound.grant.clientId), csrf: csrf.tokenFor(value), network }
  }

  /** POST: the person's decision on the confirm page. */
  decision = async (request: FastifyRequest): Promise<PageOutcome> => {
    const { grant, proximity } = this.#ctx
    const form = (request.body ?? {}) as FormBody
    const subject = subjectOf(request)
    const { decision, user_code: typed } = form
    if ((decision !== 'approve' && decision !== 'deny') || typeof typed !== 'string') return { kind: 'entry', status: 400, error: 'invalidCode' }
    const counted = await this.#count(request)
    if (counted.outcome !== undefined) return counted.outcome
    // The device's address is on the grant: read it only when the networks are compared.
    const view = proximity === 'off' ? undefined : await grant.lookup(typed)
    const network = await this.#ctx.network(view?.ip, request.ip)
    // Someone else's grant is refused below as unknown, so this page says nothing about it.
    const mine = view !== undefined && (view.subject === undefined || view.subject === subject)
    if (decision === 'approve' && network === 'different' && proximity === 'require' && mine) {
      await this.#settled(counted.attempt)
      return { kind: 'differentNetwork' }
    }
    const facts = networkFacts(network)
    const outcome = decision === 'approve' ? await grant.approve(typed, subject, facts) : await grant.deny(typed, subject, facts)
    if (!outcome.ok) return await this.#refused(counted.attempt, outcome, typed)
    await this.#settled(counted.attempt)
    const name = await this.#clientName(outcome.grant.clientId)
    return decision === 'approve' ? { kind: 'approved', clientName: name } : { kind: 'denied', clientName: name }
  }

  async #clientName (clientId: string): Promise<string> {
    const client = await this.#ctx.clients(clientId)
    return client?.name ?? clientId
  }

  /** Counts the entry before the code is looked at: over a limit, the answer is 429 and nothing more. */
  async #count (request: FastifyRequest): Promise<Counted> {
    const { limits } = this.#ctx
    if (limits === undefined) return {}
    const counted = await limits.attempt(request.ip, subjectOf(request))
    return counted.retryAfter === undefined ? { attempt: counted.attempt } : { outcome: { kind: 'tooMany', retryAfter: counted.retryAfter } }
  }

  /** The entry was not a guess (found, or merely expired or used): its count is given back. */
  async #settled (attempt: Attempt | undefined): Promise<void> {
    if (attempt !== undefined) await this.#ctx.limits?.succeeded(attempt)
  }

  /** Unknown, or someone else's: the same answer, so a bound grant reveals nothing. */
  async #refused (attempt: Attempt | undefined, outcome: Exclude<DecisionResult, { ok: true }>, typed: string): Promise<PageOutcome> {
    if (outcome.reason === 'expired' || outcome.reason === 'already_decided') {
      await this.#settled(attempt)
      return { kind: outcome.reason === 'expired' ? 'expired' : 'used' }
    }
    if (attempt !== undefined) await this.#ctx.limits?.failed(attempt)
    return { kind: 'entry', status: 400, value: echo(typed), error: 'unknownCode' }
  }
}
