import { fileURLToPath } from 'node:url'
import view from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { builtInLocales, interpolate, negotiateLocale, type PageMessages } from '../messages.js'
import type { PageName, PagesOptions } from './options.js'
import { RESULT_PAGES, resultValues, type PageOutcome } from './outcome.js'
import { pageState } from './request-state.js'

const VIEWS = fileURLToPath(new URL('../../views/', import.meta.url))

type ViewReply = FastifyReply & { deviceGrantViewAsync: (page: string, data: object) => Promise<string> }

export interface RendererConfig {
  options: PagesOptions
  /** The form's action: the verification page's path. */
  action: string
  /** A code as the device shows it, for the entry page's hint. */
  example: string
  inputMode: 'numeric' | 'text'
}

/** Turns a page outcome into the page: language, template, status and headers, in one place. */
export class PageRenderer {
  readonly #config: RendererConfig
  readonly #templates: Record<PageName, string>
  readonly #locales: Record<string, PageMessages> = {}
  readonly #defaultLocale: string

  private constructor (config: RendererConfig) {
    const { options } = config
    this.#config = config
    this.#templates = {
      entry: options.templates?.entry ?? `${VIEWS}entry.eta`,
      confirm: options.templates?.confirm ?? `${VIEWS}confirm.eta`,
      result: options.templates?.result ?? `${VIEWS}result.eta`
    }
    for (const [tag, messages] of Object.entries({ ...builtInLocales, ...options.locales })) {
      this.#locales[tag.toLowerCase()] = { ...builtInLocales.en, ...builtInLocales[tag], ...messages } as PageMessages
    }
    this.#defaultLocale = (options.defaultLocale ?? 'en').toLowerCase()
  }

  /**
   * Registers the template engine in `instance`. Templates may come from anywhere on disk, so
   * the view root is the filesystem root; the renderer gets a name of its own, so an app's own
   * `reply.view` is left alone.
   */
  static async register (instance: FastifyInstance, config: RendererConfig): Promise<PageRenderer> {
    await instance.register(view, { engine: { eta: new Eta() }, root: '/', propertyName: 'deviceGrantView', viewExt: '' })
    return new PageRenderer(config)
  }

  messages (request: FastifyRequest): PageMessages {
    return negotiateLocale(request.headers['accept-language'], this.#locales, this.#defaultLocale)
  }

  async send (request: FastifyRequest, reply: FastifyReply, outcome: PageOutcome): Promise<FastifyReply> {
    const m = this.messages(request)
    if (outcome.kind === 'tooMany' || outcome.kind === 'unavailable') reply.header('retry-after', String(outcome.retryAfter))
    switch (outcome.kind) {
      case 'entry':
        return await this.#page(request, reply, m, outcome.status, 'entry', {
          heading: m.entryHeading,
          value: outcome.value ?? '',
          error: outcome.error === undefined ? undefined : m[outcome.error],
          example: this.#config.example,
          inputMode: this.#config.inputMode
        })
      case 'confirm':
        return await this.#page(request, reply, m, 200, 'confirm', this.#confirmData(outcome, m))
      default: {
        const page = RESULT_PAGES[outcome.kind]
        return await this.#page(request, reply, m, page.status, 'result', {
          heading: m[page.heading],
          body: interpolate(m[page.body], resultValues(outcome)),
          again: page.again
        })
      }
    }
  }

  #confirmData (outcome: Extract<PageOutcome, { kind: 'confirm' }>, m: PageMessages): Record<string, unknown> {
    const { grant } = outcome
    const showInfo = this.#config.options.showDeviceInfo !== false
    return {
      heading: m.confirmHeading,
      clientName: outcome.clientName,
      displayCode: grant.displayCode,
      userCode: grant.displayCode,
      scopes: grant.scope === '' ? [] : grant.scope.split(' ').map(s => this.#describeScope(s, m.lang)),
      ip: showInfo ? grant.ip : undefined,
      userAgent: showInfo ? grant.userAgent : undefined,
      csrf: outcome.csrf,
      network: outcome.network
    }
  }

  #describeScope (scope: string, lang: string): string {
    const d = this.#config.options.scopeDescriptions
    // Own keys only: a client may ask for a scope named `constructor` or `__proto__`.
    const text = typeof d === 'function' ? d(scope, lang) : d !== undefined && Object.hasOwn(d, scope) ? d[scope] : undefined
    return text ?? scope
  }

  async #page (request: FastifyRequest, reply: FastifyReply, m: PageMessages, status: number, page: PageName, data: Record<string, unknown>): Promise<FastifyReply> {
    const t = (key: keyof PageMessages, values: Record<string, string | number> = {}) => interpolate(m[key], values)
    const nonce = pageState(request).nonce
    const html = await (reply as ViewReply).deviceGrantViewAsync(this.#templates[page], { m, t, nonce, action: this.#config.action, ...data })
    return reply.code(status).type('text/html; charset=utf-8').send(html)
  }
}
