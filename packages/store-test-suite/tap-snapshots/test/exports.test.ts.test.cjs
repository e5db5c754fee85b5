/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/exports.test.ts > TAP > the package exports exactly these names > must match snapshot 1`] = `
Array [
  "GRANT_LIFETIME_MS",
  "OPTIONAL_FIELDS",
  "POLL_LEEWAY_MS",
  "SLOW_DOWN_STEP",
  "SUBJECT",
  "assertNoRecord",
  "assertPolled",
  "assertRecord",
  "assertStored",
  "claimSuite",
  "concurrencySuite",
  "counterSuite",
  "decisionSuite",
  "expirySuite",
  "makeGrant",
  "makePoll",
  "multiStoreSuite",
  "onceSuite",
  "plainRecord",
  "pollSuite",
  "randomDeviceCodeHash",
  "randomDpopJkt",
  "randomUserCode",
  "saveFindSuite",
  "storeSuite",
  "supportOf",
]
`
