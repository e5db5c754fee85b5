import { StoreUnavailableError } from '@device-grant/core'

/** Starts every message the store throws. */
export const STORE_NAME = '@device-grant/store-redis'

/**
 * Reply errors that mean "this node cannot serve you right now" (loading, failover, busy
 * script, out of memory) rather than "this request is wrong".
 */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM)\b/

/**
 * What the caller hears when a command failed: `StoreUnavailableError` when Redis could not
 * answer (a lost connection, a client timeout, a transient reply error), so the plugin answers
 * 503 and the client retries. Any other reply error is a bug or a misconfiguration (WRONGTYPE
 * on a foreign key, a Lua error) and is passed on as it is: retrying would not help.
 */
export function unavailable (op: string, err: unknown): unknown {
  if (err instanceof Error && err.name === 'ReplyError' && !TRANSIENT_REPLY.test(err.message)) return err
  const message = err instanceof Error ? err.message : String(err)
  return new StoreUnavailableError(`${STORE_NAME}: ${op} failed: ${message}`, { cause: err })
}
