import { existsSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { builtInLocales, type PageMessages } from '../messages.js'
import { validateRule, type RateLimitOptions } from '../rate-limit.js'

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

export const PAGE_NAMES: readonly PageName[] = ['entry', 'confirm', 'result']

export function validatePagesOptions (pages: PagesOptions): void {
  if (pages === null || typeof pages !== 'object') throw new TypeError('fastify-device-grant: pages must be an object or false')
  for (const [name, path] of Object.entries(pages.templates ?? {})) {
    if (!PAGE_NAMES.includes(name as PageName)) throw new TypeError(`fastify-device-grant: pages.templates.${name} is not a page (entry, confirm, result)`)
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
