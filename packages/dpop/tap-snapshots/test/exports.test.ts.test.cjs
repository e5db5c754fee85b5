/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/exports.test.ts > TAP > the package exports exactly these names > must match snapshot 1`] = `
Array [
  "DEFAULT_ALGORITHMS",
  "DEFAULT_IAT_WINDOW",
  "DEFAULT_NONCE_LIFETIME",
  "DpopProofError",
  "DpopVerifier",
  "InMemoryReplayCache",
  "NonceSource",
  "SUPPORTED_ALGORITHMS",
  "accessTokenHash",
  "createProof",
  "dpopChallenge",
  "generateProofKey",
  "normalizeHtu",
  "parseAuthorization",
  "verifyProof",
]
`
