export {
  claimSuite,
  concurrencySuite,
  counterSuite,
  decisionSuite,
  expirySuite,
  multiStoreSuite,
  onceSuite,
  pollSuite,
  saveFindSuite,
  storeSuite
} from './suites.js'
export type { CaseOptions, StoreFactory, StoreSuiteOptions, SuiteFn, SuiteSummary, TestFn } from './suite.js'
export type { Capability } from './case.js'
export { supportOf } from './support.js'
export type { StoreSupport } from './support.js'
export { assertNoRecord, assertPolled, assertRecord, assertStored, plainRecord, OPTIONAL_FIELDS } from './assertions.js'
export {
  GRANT_LIFETIME_MS,
  POLL_LEEWAY_MS,
  SLOW_DOWN_STEP,
  SUBJECT,
  makeGrant,
  makePoll,
  randomDeviceCodeHash,
  randomDpopJkt,
  randomUserCode
} from './fixtures.js'
