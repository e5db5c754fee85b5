import { claimGroup } from './groups/claim.js'
import { concurrencyGroup } from './groups/concurrency.js'
import { counterGroup } from './groups/counters.js'
import { decisionGroup } from './groups/decisions.js'
import { expiryGroup } from './groups/expiry.js'
import { multiStoreGroup } from './groups/multi-store.js'
import { onceGroup } from './groups/once.js'
import { pollGroup } from './groups/poll.js'
import { saveFindGroup } from './groups/save-find.js'
import { suiteOf } from './suite.js'

/** `save` and the lookups: round trips, copies, unique user codes (and `findByDeviceCodeHash`). */
export const saveFindSuite = suiteOf(saveFindGroup)
/** `recordPoll`'s bookkeeping: on time, `slow_down`, and the polls that write nothing. */
export const pollSuite = suiteOf(pollGroup)
/** `bindSubject`, `approve`, `deny`. */
export const decisionSuite = suiteOf(decisionGroup)
/** `claim`. */
export const claimSuite = suiteOf(claimGroup)
/** The expiry boundary across operations, and `deleteExpired`. */
export const expirySuite = suiteOf(expiryGroup)
/** Races through one store. */
export const concurrencySuite = suiteOf(concurrencyGroup)
/** `hit`: windows, reads, refunds, races, argument checks. */
export const counterSuite = suiteOf(counterGroup)
/** `useOnce`: replays, expiry, races, argument checks. */
export const onceSuite = suiteOf(onceGroup)
/** Several stores on one backend (`capabilities.sharedAcrossProcesses`). */
export const multiStoreSuite = suiteOf(multiStoreGroup)

/** Every group, in this order: the conformance suite a store passes. */
export const storeSuite = suiteOf(
  saveFindGroup,
  pollGroup,
  decisionGroup,
  claimGroup,
  expiryGroup,
  concurrencyGroup,
  counterGroup,
  onceGroup,
  multiStoreGroup
)
