import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import {
  BIND_SUBJECT,
  CLAIM,
  CLAIM_USER_CODE,
  DECIDE,
  HIT,
  RECORD_POLL,
  RELEASE_USER_CODE,
  SAVE_RECORD,
  USE_ONCE
} from './scripts.js'

const SCRIPTS = {
  claimUserCode: CLAIM_USER_CODE,
  releaseUserCode: RELEASE_USER_CODE,
  saveRecord: SAVE_RECORD,
  recordPoll: RECORD_POLL,
  bindSubject: BIND_SUBJECT,
  decide: DECIDE,
  claim: CLAIM,
  hit: HIT,
  useOnce: USE_ONCE
}

/** A script run on its one key; one round trip (EVALSHA, or EVAL the first time on a connection). */
export type Script = (key: string, ...args: string[]) => Promise<unknown>
export type Scripts = Record<keyof typeof SCRIPTS, Script>

/**
 * Defines the scripts on the user's client. The names carry the script's SHA, so two versions
 * of this package sharing one client never overwrite each other's scripts, and a second store
 * on the same client reuses the first one's definitions.
 */
export function defineScripts (client: Redis | Cluster): Scripts {
  const commands = client as unknown as Record<string, Script>
  const scripts = {} as Scripts
  for (const [name, lua] of Object.entries(SCRIPTS) as Array<[keyof Scripts, string]>) {
    const command = `deviceGrant_${name}_${createHash('sha1').update(lua).digest('hex').slice(0, 12)}`
    if (typeof commands[command] !== 'function') client.defineCommand(command, { numberOfKeys: 1, lua })
    const run = commands[command]!
    scripts[name] = async (key, ...args) => await run.call(client, key, ...args)
  }
  return scripts
}
