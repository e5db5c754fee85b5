/* IMPORTANT
 * This snapshot file is auto-generated, but designed for humans.
 * It should be checked into source control and tracked carefully.
 * Re-generate by setting TAP_SNAPSHOT=1 and running tests.
 * Make sure to inspect the output below.  Do not ignore changes!
 */
'use strict'
exports[`test/exports.test.ts > TAP > @device-grant/store-postgres/sql exports exactly these names > must match snapshot 1`] = `
Array [
  "COLUMNS",
  "CONNECTION_MESSAGE",
  "DEFAULT_TABLE",
  "POLLED_FIELDS",
  "SAVE_FIELDS",
  "SqlGrantStore",
  "asBag",
  "buildStatements",
  "isConnectionError",
  "isConnectionSqlState",
  "isPgConnectionLayer",
  "isSocketCode",
  "isUniqueViolation",
  "layers",
  "migrationSql",
  "migrationsDirectory",
  "quoteTable",
  "saveValues",
  "str",
  "toPollResult",
  "toRecord",
  "withDeadline",
]
`

exports[`test/exports.test.ts > TAP > the package exports exactly these names > must match snapshot 1`] = `
Array [
  "COLUMNS",
  "DEFAULT_TABLE",
  "PostgresStore",
  "migrationSql",
  "migrationsDirectory",
  "postgresStore",
]
`
