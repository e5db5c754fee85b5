import t from 'tap'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { buildApp } from '../src/app.js'
import { readConfig } from '../src/config.js'

// A real Chromium against the real server over HTTP: what a person sees and clicks.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SHOTS = join(import.meta.dirname, '..', 'test-output', 'screenshots')
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

mkdirSync(SHOTS, { recursive: true })

/** A port the OS says is free: the issuer (and so every advertised URL) must name the real one. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise(resolve => server.close(resolve))
  return port
}

const port = await freePort()
const app = await buildApp(readConfig({ PORT: String(port), DEVICE_GRANT_INTERVAL: '1' }))
await app.listen({ host: '127.0.0.1', port })
const base = `http://127.0.0.1:${port}`

const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
})
t.teardown(async () => {
  await browser.close()
  await app.close()
})

async function startDevice () {
  const res = await fetch(`${base}/device_authorization`, { method: 'POST', body: new URLSearchParams({ client_id: 'demo-tv', scope: 'openid profile' }) })
  return await res.json() as { device_code: string, user_code: string, verification_uri: string, verification_uri_complete: string }
}

async function pollOnce (deviceCode: string) {
  const res = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: GRANT, client_id: 'demo-tv', device_code: deviceCode }) })
  return { status: res.status, body: await res.json() as Record<string, string> }
}

async function logIn (page: Page) {
  await page.getByLabel('Username').fill('demo')
  await page.getByLabel('Password').fill('demo')
  await page.getByRole('button', { name: 'Sign in' }).click()
}

t.test('approve: open verification_uri_complete, log in, confirm, and the device gets a token', async t => {
  const device = await startDevice()
  const context = await browser.newContext({ viewport: { width: 420, height: 860 }, locale: 'en-US' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(10_000)
  await page.goto(device.verification_uri_complete)
  t.match(page.url(), /\/login\?returnTo=/, 'sent to log in first')
  await page.screenshot({ path: join(SHOTS, '1-login.png'), fullPage: true })
  await logIn(page)

  await page.waitForURL(/\/device\?user_code=/)
  t.equal(await page.locator('.code').textContent(), device.user_code, 'the confirm page shows the code from the device')
  t.match(await page.locator('main').textContent(), 'Demo TV is asking to sign in to your account.')
  t.match(await page.locator('main').textContent(), 'Know who you are')
  t.equal((await pollOnce(device.device_code)).body.error, 'authorization_pending', 'opening the link approved nothing')
  await page.screenshot({ path: join(SHOTS, '2-confirm.png'), fullPage: true })

  const approve = page.getByRole('button', { name: 'Approve' })
  const deny = page.getByRole('button', { name: 'Deny' })
  const [a, d] = [await approve.boundingBox(), await deny.boundingBox()]
  t.ok(a !== null && d !== null && Math.abs(a.width - d.width) < 1 && Math.abs(a.height - d.height) < 1, 'Approve and Deny are the same size')
  await approve.click()
  await page.getByRole('heading', { name: 'Device connected' }).waitFor()
  await page.screenshot({ path: join(SHOTS, '3-approved.png'), fullPage: true })

  const token = await pollOnce(device.device_code)
  t.equal(token.status, 200)
  t.equal(token.body.token_type, 'Bearer')
  const me = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token.body.access_token}` } })
  t.same(await me.json(), { subject: 'demo', clientId: 'demo-tv', scope: 'openid profile' })

  // Back re-requests the confirm page (no-store): the decision is final, so it is gone.
  await page.goBack()
  await page.getByRole('heading', { name: 'This code has already been used' }).waitFor()
  t.equal(await page.getByRole('button', { name: 'Deny' }).count(), 0, 'no second decision is offered')
  t.equal((await pollOnce(device.device_code)).body.error, 'invalid_grant', 'and nothing changed for the device')
})

t.test('deny: typed by hand in any case, denied, and the device hears access_denied', async t => {
  const device = await startDevice()
  const context = await browser.newContext({ viewport: { width: 1024, height: 760 }, locale: 'en-US' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${base}/login`)
  await logIn(page)
  await page.goto(device.verification_uri)
  await page.screenshot({ path: join(SHOTS, '4-entry.png'), fullPage: true })
  const typed = device.user_code.toLowerCase().replace('-', ' ')
  await page.getByLabel('Code').fill(typed)
  await page.getByRole('button', { name: 'Continue' }).click()
  t.equal(await page.locator('.code').textContent(), device.user_code)
  await page.getByRole('button', { name: 'Deny' }).click()
  await page.getByRole('heading', { name: 'Request denied' }).waitFor()
  await page.screenshot({ path: join(SHOTS, '5-denied.png'), fullPage: true })
  t.equal((await pollOnce(device.device_code)).body.error, 'access_denied')
})

t.test('a wrong code shows the form again with the error, and French speakers read French', async t => {
  const context = await browser.newContext({ viewport: { width: 420, height: 760 }, locale: 'fr-FR' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${base}/login`)
  await logIn(page)
  await page.goto(`${base}/device`)
  await page.getByLabel('Code').fill('BBBB-BBBB')
  await page.getByRole('button', { name: 'Continuer' }).click()
  t.match(await page.getByRole('alert').textContent(), 'Ce code est introuvable')
  t.equal(await page.getByLabel('Code').getAttribute('aria-invalid'), 'true')
  await page.screenshot({ path: join(SHOTS, '6-unknown-fr.png'), fullPage: true })
})

t.test('proximity: a device that asked from another network is flagged on the confirm page, one on the same network is not', async t => {
  // A device elsewhere (as in remote phishing): its request reached the server from another network.
  const far = (await app.inject({
    method: 'POST',
    url: '/device_authorization',
    remoteAddress: '203.0.113.9',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'client_id=demo-tv'
  })).json() as { device_code: string, verification_uri_complete: string }
  const near = await startDevice()
  const context = await browser.newContext({ viewport: { width: 420, height: 900 }, locale: 'en-US' })
  t.teardown(() => context.close())
  const page = await context.newPage()
  page.setDefaultTimeout(10_000)
  await page.goto(`${base}/login`)
  await logIn(page)

  await page.goto(far.verification_uri_complete)
  await page.getByRole('heading', { name: 'Is this your device?' }).waitFor()
  const warning = page.locator('[data-proximity="different-network"]')
  t.equal(await warning.count(), 1, 'the warning element carries data-proximity="different-network"')
  t.ok(await warning.isVisible(), 'and is visible')
  t.match(await warning.textContent(), 'this request came from a different network')
  const deny = page.getByRole('button', { name: 'Deny' })
  // Evaluated in the page (a string: this project's types have no DOM).
  const background = async (value: 'approve' | 'deny') => await page.evaluate(`getComputedStyle(document.querySelector('button[value=${value}]')).backgroundColor`) as string
  t.not(await background('deny'), await background('approve'), 'Deny has the emphasis')
  t.equal(await page.evaluate('document.activeElement.value'), 'deny', 'and the focus')
  await page.screenshot({ path: join(SHOTS, '7-different-network.png'), fullPage: true })
  await deny.click()
  await page.getByRole('heading', { name: 'Request denied' }).waitFor()
  t.equal((await pollOnce(far.device_code)).body.error, 'access_denied')

  await page.goto(near.verification_uri_complete)
  await page.getByRole('heading', { name: 'Is this your device?' }).waitFor()
  t.equal(await page.locator('[data-proximity]').count(), 0, 'no warning when the browser is on the device’s network')
  t.equal(await background('deny'), await background('approve'), 'and Deny and Approve look alike')
})

t.test('the pages cannot be framed and run no script', async t => {
  const context = await browser.newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  const res = await page.goto(`${base}/device`)
  t.equal(res?.headers()['x-frame-options'], 'DENY')
  t.match(res?.headers()['content-security-policy'], /frame-ancestors 'none'/)
  // A hostile page framing ours: Chromium must refuse to render it.
  await page.setContent(`<iframe id="f" src="${base}/device"></iframe>`)
  const frame = await (await page.$('#f'))?.contentFrame()
  const framed = await frame?.content().catch(() => '')
  t.notMatch(framed ?? '', 'Connect a device', 'the framed page is blocked')
})
