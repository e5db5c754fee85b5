import { chromium, type Browser } from 'playwright-core'
import type { Teardown } from './server.js'

// The same Chromium and flags as examples/basic/test/browser.test.ts.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export async function launchBrowser (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
  t.teardown(() => browser.close())
  return browser
}

export interface Decision {
  /** The code the confirm page showed: the person compares it with the device's screen. */
  shownCode: string
  heading: string
}

/**
 * What a person does with the link the device showed: open it, sign in as demo/demo, read the
 * confirm page, click Approve (or Deny), and read the result page. A fresh browser profile each
 * time, so every run goes through the login.
 */
export async function decideInBrowser (browser: Browser, verificationUriComplete: string, decision: 'approve' | 'deny'): Promise<Decision> {
  const context = await browser.newContext({ locale: 'en-US' })
  try {
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    await page.goto(verificationUriComplete)
    await page.getByLabel('Username').fill('demo')
    await page.getByLabel('Password').fill('demo')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/device\?user_code=/)
    const shownCode = (await page.locator('.code').textContent()) ?? ''
    await page.getByRole('button', { name: decision === 'approve' ? 'Approve' : 'Deny' }).click()
    const heading = decision === 'approve' ? 'Device connected' : 'Request denied'
    await page.getByRole('heading', { name: heading }).waitFor()
    return { shownCode, heading }
  } finally {
    await context.close()
  }
}
