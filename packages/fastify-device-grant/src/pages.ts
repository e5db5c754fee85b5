import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StoreUnavailableError, type ClientLookup, type DecisionResult, type DeviceGrant } from '@device-grant/core'
import view from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CsrfTokens } from './csrf.js'
import { parseForm, type FormBody } from './form.js'
import { builtInLocales, interpolate, negotiateLocale, type PageMessages } from './messages.js'
import { counterFor, DEFAULT_RATE_LIMIT, spend as spendCounter, validateRule, type RateLimitOptions, type RateLimitRule, type Spent } from './rate-limit.js'

export type PageName = 'entry' | 'confirm' | 'result'

/**
 * Resolves the signed-in user's subject, or sends the login page/redirect itself (keeping
 * `request.url` as the return address) and resolves undefined.
 */
export type Authenticate = (request: FastifyRequest, reply: FastifyReply) => string | undefined | null | Promise<string | undefined | null>

export interface PagesOptions {
  /** Replace templates one by one: absolute paths to Eta files (see the shipped `views/`). */
  templates?: Partial<Record<PageName, string>>
  /** Extra languages, or changes to the built-in `en` and `fr`; merged over English. */
  locales?: Record<string, Partial<PageMessages>>
  /** Language when the browser asks for none we have. Default `en`. */
  defaultLocale?: string
  /** Words for scopes on the confirm page: a map, or a function of the scope and the language. */
  scopeDescriptions?: Record<string, string> | ((scope: string, lang: string) => string | undefined)
  /** Code-entry rate limits; `false` turns them off. Counted in the store when it offers `hit`. */
  rateLimit?: RateLimitOptions | false
  /** Secret for CSRF tokens. Default: random per process, so set it when several instances serve pages. */
  csrfSecret?: string
  /** Show the IP and user agent the device asked from (RFC 8628 §5.4). Default true. */
  showDeviceInfo?: boolean
}

interface PagesContext {
  grant: DeviceGrant
  clients: ClientLookup
  authenticate: Authenticate
  action: string
  options: PagesOptions
  secure: boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    deviceGrantNonce: string
  }
  interface FastifyReply {
    /** @fastify/view's renderer under its own name, so an app's own `reply.view` is left alone. */
    deviceGrantViewAsync(page: string, data: object): Promise<string>
  }
}

const VIEWS = fileURLToPath(new URL('../views/', import.meta.url))

export function validatePagesOptions (pages: PagesOptions): void {
  if (pages === null || typeof pages !== 'object') throw new TypeError('fastify-device-grant: pages must be an object or false')
  for (const [name, path] of Object.entries(pages.templates ?? {})) {
    if (!['entry', 'confirm', 'result'].includes(name)) throw new TypeError(`fastify-device-grant: pages.templates.${name} is not a page (entry, confirm, result)`)
    if (typeof path !== 'string' || !isAbsolute(path) || !existsSync(path)) {
      throw new TypeError(`fastify-device-grant: pages.templates.${name} must be the absolute path of an existing file`)
    }
  }
  if (pages.rateLimit !== undefined && pages.rateLimit !== false) {
    validateRule('perIp', pages.rateLimit.perIp)
    validateRule('perCode', pages.rateLimit.perCode)
  }
  if (pages.csrfSecret !== undefined && (typeof pages.csrfSecret !== 'string' || pages.csrfSecret.length < 32)) {
    throw new TypeError('fastify-device-grant: pages.csrfSecret must be a string of at least 32 characters')
  }
  const locales = { ...builtInLocales, ...pages.locales }
  const defaultLocale = pages.defaultLocale ?? 'en'
  if (!(defaultLocale in locales)) throw new TypeError(`fastify-device-grant: pages.defaultLocale "${pages.defaultLocale}" has no locale`)
}

/** The verification pages (RFC 8628 §3.3): entry form, confirm, result. */
export async function registerPages (instance: FastifyInstance, ctx: PagesContext): Promise<void> {
  const { grant, options } = ctx
  const templates: Record<PageName, string> = {
    entry: options.templates?.entry ?? `${VIEWS}entry.eta`,
    confirm: options.templates?.confirm ?? `${VIEWS}confirm.eta`,
    result: options.templates?.result ?? `${VIEWS}result.eta`
  }
  const locales: Record<string, PageMessages> = {}
  for (const [tag, messages] of Object.entries({ ...builtInLocales, ...options.locales })) {
    locales[tag.toLowerCase()] = { ...builtInLocales.en, ...builtInLocales[tag], ...messages } as PageMessages
  }
  const defaultLocale = (options.defaultLocale ?? 'en').toLowerCase()
  const csrf = new CsrfTokens(options.csrfSecret, ctx.secure)
  if (options.csrfSecret === undefined && grant.store.capabilities?.sharedAcrossProcesses === true) {
    instance.log.warn('fastify-device-grant: the store is shared across processes but pages.csrfSecret is not set; forms will fail across instances')
  }
  const rules = options.rateLimit === false ? undefined : { ...DEFAULT_RATE_LIMIT, ...options.rateLimit }
  // Counted in the store when it can (limits then hold across instances), else in this process.
  const { counter, close: closeCounter } = counterFor(grant.store)
  instance.addHook('onClose', closeCounter)
  const example = grant.userCodes.format(grant.userCodes.charset.repeat(grant.userCodes.length).slice(0, grant.userCodes.length))
  const inputMode = /^[0-9]+$/.test(grant.userCodes.charset) ? 'numeric' : 'text'

  // Templates may come from anywhere on disk, so the view root is the filesystem root.
  await instance.register(view, { engine: { eta: new Eta() }, root: '/', propertyName: 'deviceGrantView', viewExt: '' })
  instance.decorateRequest('deviceGrantNonce', '')
  instance.removeAllContentTypeParsers()
  instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) => {
    done(null, parseForm(body as string))
  })
  instance.addHook('onRequest', async (request, reply) => {
    const nonce = randomBytes(16).toString('base64')
    request.deviceGrantNonce = nonce
    // No script at all; the one inline style is allowed by its nonce. Never framed (RFC 9700 §4.16).
    reply
      .header('content-security-policy', `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'`)
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff')
  })

  type Render = (status: number, page: PageName, data: Record<string, unknown>) => Promise<FastifyReply>
  function renderer (request: FastifyRequest, reply: FastifyReply): { m: PageMessages, render: Render } {
    const m = negotiateLocale(request.headers['accept-language'], locales, defaultLocale)
    const render: Render = async (status, page, data) => {
      const t = (key: keyof PageMessages, values: Record<string, string | number> = {}) => interpolate(m[key], values)
      const html = await reply.deviceGrantViewAsync(templates[page], { m, t, nonce: request.deviceGrantNonce, action: ctx.action, ...data })
      return reply.code(status).type('text/html; charset=utf-8').send(html)
    }
    return { m, render }
  }

  const entry = (render: Render, m: PageMessages, status: number, value: string, error?: string) =>
    render(status, 'entry', { heading: m.entryHeading, value, error, example, inputMode })
  const result = (render: Render, status: number, heading: string, body: string, again = false) =>
    render(status, 'result', { heading, body, again })

  async function clientName (clientId: string): Promise<string> {
    const client = await ctx.clients(clientId)
    return client?.name ?? clientId
  }

  function describeScope (scope: string, lang: string): string {
    const d = options.scopeDescriptions
    // Own keys only: a client may ask for a scope named `constructor` or `__proto__`.
    const text = typeof d === 'function' ? d(scope, lang) : d !== undefined && Object.hasOwn(d, scope) ? d[scope] : undefined
    return text ?? scope
  }

  /** Each failed entry costs the source one attempt; a success gives nothing back. */
  async function spend (key: string, rule: RateLimitRule, increment: number): Promise<Spent> {
    return await spendCounter(counter, key, rule, increment, grant.clock())
  }

  async function tooMany (reply: FastifyReply, render: Render, m: PageMessages, retryAfter: number): Promise<FastifyReply> {
    reply.header('retry-after', String(retryAfter))
    return result(render, 429, m.tooManyHeading, interpolate(m.tooManyBody, { minutes: Math.ceil(retryAfter / 60) }), false)
  }

  async function signedIn (request: FastifyRequest, reply: FastifyReply, render: Render, m: PageMessages): Promise<string | undefined> {
    const subject = await ctx.authenticate(request, reply)
    if (reply.sent) return undefined
    if (typeof subject === 'string' && subject !== '') return subject
    await result(render, 401, m.signInHeading, m.signInBody, true)
    return undefined
  }

  /** Unknown, or someone else's: the same answer, so a bound grant reveals nothing. */
  async function refused (request: FastifyRequest, outcome: Exclude<DecisionResult, { ok: true }>, render: Render, m: PageMessages, typed: string) {
    if (outcome.reason === 'expired') return result(render, 410, m.expiredHeading, m.expiredBody, true)
    if (outcome.reason === 'already_decided') return result(render, 409, m.usedHeading, m.usedBody, true)
    if (rules !== undefined) await spend(`ip:${request.ip}`, rules.perIp, 1)
    return entry(render, m, 400, typed, m.unknownCode)
  }

  instance.get<{ Querystring: Record<string, unknown> }>('/', async (request, reply) => {
    const { m, render } = renderer(request, reply)
    const typed = request.query.user_code
    if (typed === undefined || typed === '') return entry(render, m, 200, '')
    if (typeof typed !== 'string') return entry(render, m, 400, '', m.invalidCode)
    // Blocked sources learn nothing, not even whether a code exists.
    if (rules !== undefined) {
      const ip = await spend(`ip:${request.ip}`, rules.perIp, 0)
      if (ip.blocked) return tooMany(reply, render, m, ip.retryAfter)
    }
    const subject = await signedIn(request, reply, render, m)
    if (subject === undefined) return reply
    const userCode = grant.userCodes.normalize(typed)
    if (userCode === undefined) {
      if (rules !== undefined) await spend(`ip:${request.ip}`, rules.perIp, 1)
      return entry(render, m, 400, typed.slice(0, 64), m.invalidCode)
    }
    if (rules !== undefined) {
      const code = await spend(`code:${userCode}`, rules.perCode, 1)
      if (code.blocked) return tooMany(reply, render, m, code.retryAfter)
    }
    const bound = await grant.bind(userCode, subject)
    if (!bound.ok) return refused(request, bound, render, m, typed.slice(0, 64))
    const view = bound.grant
    const { value, setCookie } = csrf.ensureCookie(request.headers.cookie)
    if (setCookie !== undefined) reply.header('set-cookie', setCookie)
    const showInfo = options.showDeviceInfo !== false
    return render(200, 'confirm', {
      heading: m.confirmHeading,
      clientName: await clientName(view.clientId),
      displayCode: view.displayCode,
      userCode: view.displayCode,
      scopes: view.scope === '' ? [] : view.scope.split(' ').map(s => describeScope(s, m.lang)),
      ip: showInfo ? view.ip : undefined,
      userAgent: showInfo ? view.userAgent : undefined,
      csrf: csrf.tokenFor(value)
    })
  })

  instance.post<{ Body: FormBody | undefined }>('/', async (request, reply) => {
    const { m, render } = renderer(request, reply)
    const form = request.body ?? {}
    if (!csrf.verify(request.headers.cookie, form.csrf_token)) return result(render, 403, m.formExpiredHeading, m.formExpiredBody, true)
    const subject = await signedIn(request, reply, render, m)
    if (subject === undefined) return reply
    const decision = form.decision
    const typed = form.user_code
    if ((decision !== 'approve' && decision !== 'deny') || typeof typed !== 'string') return entry(render, m, 400, '', m.invalidCode)
    const outcome = decision === 'approve' ? await grant.approve(typed, subject) : await grant.deny(typed, subject)
    if (!outcome.ok) return refused(request, outcome, render, m, typed.slice(0, 64))
    const client = await clientName(outcome.grant.clientId)
    return decision === 'approve'
      ? result(render, 200, m.approvedHeading, interpolate(m.approvedBody, { client }))
      : result(render, 200, m.deniedHeading, interpolate(m.deniedBody, { client }))
  })

  instance.setErrorHandler(async (err, request, reply) => {
    const { m, render } = renderer(request, reply)
    if (err instanceof StoreUnavailableError) {
      reply.header('retry-after', String(err.retryAfter))
      return result(render, 503, m.unavailableHeading, m.unavailableBody, true)
    }
    const status = (err as { statusCode?: number }).statusCode
    if (typeof status === 'number' && status >= 400 && status < 500) return result(render, 400, m.errorHeading, m.errorBody, true)
    request.log.error({ err }, 'fastify-device-grant: verification page failed')
    return result(render, 500, m.errorHeading, m.errorBody, true)
  })
}
