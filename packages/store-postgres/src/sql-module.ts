/**
 * `@device-grant/store-postgres/sql`: the statements, row conversions and error shapes the
 * PostgreSQL stores share. store-prisma sends the same texts through `$queryRawUnsafe`; a
 * third store on another PostgreSQL driver can too. Nothing here imports a driver.
 */
export { COLUMNS, DEFAULT_TABLE, POLLED_FIELDS, SAVE_FIELDS, buildStatements, quoteTable } from './sql.js'
export type { Field, Statement, StatementOptions, Statements } from './sql.js'
export { saveValues, toPollResult, toRecord } from './rows.js'
export type { GrantRow, Int8, PollRow } from './rows.js'
export { asBag, isConnectionError, isConnectionSqlState, isPgConnectionLayer, isSocketCode, isUniqueViolation, layers, str, CONNECTION_MESSAGE } from './errors.js'
export type { Bag } from './errors.js'
export { withDeadline } from './deadline.js'
export { SqlGrantStore } from './sql-store.js'
export type { DriverErrors, SqlStoreOptions } from './sql-store.js'
export { migrationsDirectory, migrationSql } from './migrations.js'
