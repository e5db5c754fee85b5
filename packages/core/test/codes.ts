import type { OAuthError } from '../src/index.js'

/** The OAuth error code a promise rejects with (and the status, when asked). */
export async function codeOf (p: Promise<unknown>, withStatus = false): Promise<string> {
  try {
    await p
    return 'resolved'
  } catch (err) {
    const e = err as OAuthError
    return withStatus ? `${e.error}/${e.statusCode}` : e.error
  }
}
