import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** The one demo account. A real app checks its own user store. */
const DEMO_USER = 'demo'
const DEMO_PASSWORD = 'demo'
const SESSION_COOKIE = 'demo_session'

const digest = (s: string) => createHash('sha256').update(s).digest()

/** The signed-in user from the signed session cookie, if any. */
export function sessionUser (request: FastifyRequest): string | undefined {
  const raw = request.cookies[SESSION_COOKIE]
  if (raw === undefined) return undefined
  const unsigned = request.unsignCookie(raw)
  return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined
}

/** Only local paths: never bounce a user to another site after login (open redirect). */
export function safeReturnTo (value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) ? value : '/device'
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)

function loginPage (returnTo: string, csrf: string, error?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · Demo</title>
<style>
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center; background: #eef1f5; color: #1b1f24; font: 1rem/1.5 system-ui, sans-serif; padding: 1rem; }
main { width: 100%; max-width: 22rem; background: #fff; border: 1px solid #c9d1da; border-radius: 14px; padding: 2rem 1.75rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; } label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input { width: 100%; box-sizing: border-box; padding: .6rem .75rem; font-size: 1rem; border: 2px solid #c9d1da; border-radius: 8px; }
button { width: 100%; margin-top: 1.25rem; padding: .8rem; font: 600 1.05rem system-ui, sans-serif; color: #fff; background: #0b57d0; border: 0; border-radius: 8px; cursor: pointer; }
.error { color: #b3261e; font-weight: 600; } .muted { color: #4b5563; font-size: .9rem; }
</style></head>
<body><main>
<h1>Sign in</h1>
<p class="muted">Demo account: <strong>demo</strong> / <strong>demo</strong></p>
${error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="post" action="/login">
<input type="hidden" name="_csrf" value="${escapeHtml(csrf)}">
<input type="hidden" name="returnTo" value="${escapeHtml(returnTo)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>`
}

/** GET/POST /login and POST /logout, for the demo. */
export async function loginRoutes (app: FastifyInstance): Promise<void> {
  app.get<{ Querystring: { returnTo?: string } }>('/login', async (request, reply) => {
    const csrf = reply.generateCsrf()
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(loginPage(safeReturnTo(request.query.returnTo), csrf))
  })

  app.post<{ Body: { username?: unknown, password?: unknown, returnTo?: unknown } }>('/login', { preHandler: app.csrfProtection }, async (request, reply: FastifyReply) => {
    const { username, password, returnTo } = request.body ?? {}
    const ok = typeof username === 'string' && typeof password === 'string' &&
      username === DEMO_USER && timingSafeEqual(digest(password), digest(DEMO_PASSWORD))
    if (!ok) {
      return reply.code(401).type('text/html; charset=utf-8').header('cache-control', 'no-store')
        .send(loginPage(safeReturnTo(returnTo), reply.generateCsrf(), 'Wrong username or password.'))
    }
    reply.setCookie(SESSION_COOKIE, DEMO_USER, { signed: true, httpOnly: true, sameSite: 'lax', path: '/', maxAge: 3600 })
    return reply.redirect(safeReturnTo(returnTo), 303)
  })

  app.post('/logout', { preHandler: app.csrfProtection }, async (_request, reply) => {
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return reply.redirect('/device', 303)
  })
}
