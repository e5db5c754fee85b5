export { storeSuite } from './suite.js'
export type { StoreFactory, StoreSuiteOptions, TestFn } from './suite.js'
export { assertPolled, assertRecord, assertStored, plainRecord, OPTIONAL_FIELDS, POLLED_FIELDS } from './assertions.js'
export {
  GRANT_LIFETIME_MS,
  POLL_LEEWAY_MS,
  SLOW_DOWN_STEP,
  SUBJECT,
  makeGrant,
  makePoll,
  randomDeviceCodeHash,
  randomUserCode
} from './fixtures.js'
