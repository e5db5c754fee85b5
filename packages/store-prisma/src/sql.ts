/**
 * Every SQL statement the store sends itself, built once per store from the table name.
 * The column names are fixed: they are the `@map` values of the shipped model fragment
 * (`prisma/device-grant.prisma`) and of the shipped migration. PostgreSQL only.
 */

/** The table the shipped fragment maps `DeviceGrant` to, and the migration creates. */
export const DEFAULT_TABLE = 'device_grant'

/** Record field → column. The one place the column names live. */
export const COLUMNS = {
  deviceCodeHash: 'device_code_hash',
  userCode: 'user_code',
  clientId: 'client_id',
  scope: 'scope',
  status: 'status',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  interval: 'interval',
  lastPolledAt: 'last_polled_at',
  subject: 'subject',
  grantedScope: 'granted_scope',
  decidedAt: 'decided_at',
  ip: 'ip',
  userAgent: 'user_agent'
} as const

export type Field = keyof typeof COLUMNS

/** Columns in the order `save` binds them ($1 … $14), with the SQL type each parameter is cast to. */
export const SAVE_FIELDS: ReadonlyArray<readonly [Field, string]> = [
  ['deviceCodeHash', 'text'],
  ['userCode', 'text'],
  ['clientId', 'text'],
  ['scope', 'text'],
  ['status', 'text'],
  ['createdAt', 'bigint'],
  ['expiresAt', 'bigint'],
  ['interval', 'integer'],
  ['lastPolledAt', 'bigint'],
  ['subject', 'text'],
  ['grantedScope', 'text'],
  ['decidedAt', 'bigint'],
  ['ip', 'text'],
  ['userAgent', 'text']
]

export interface Statements {
  /** $1…$14 per SAVE_FIELDS. Affects 1 row when saved, 0 when a live record holds the user code. */
  save: string
  /** $1 hash, $2 client id, $3 now, $4 leeway (ms), $5 step (s). Returns 0 or 1 row: POLLED_FIELDS + "slowDown". */
  recordPoll: string
  /** $1 hash, $2 now. Returns the row (status already 'consumed') when this call won. */
  claim: string
}

const IDENTIFIER_PART = /^[^".\0]+$/

/** `name` or `schema.name` → `"name"` or `"schema"."name"`; anything else is a TypeError. */
export function quoteTable (table: string): string {
  const parts = table.split('.')
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER_PART.test(part))) {
    throw new TypeError(`table must be "name" or "schema.name" without quotes, got ${JSON.stringify(table)}`)
  }
  return parts.map(quote).join('.')
}

function quote (identifier: string): string {
  return `"${identifier}"`
}

/** What `recordPoll` returns of a row (`PolledGrant`): the poll needs no more. */
export const POLLED_FIELDS: readonly Field[] = ['clientId', 'status', 'expiresAt', 'interval', 'lastPolledAt']

const ALL_FIELDS = Object.keys(COLUMNS) as Field[]

/** `alias."column" AS "field", …`: raw rows come back keyed like model rows. */
function selectList (alias: string, fields: readonly Field[] = ALL_FIELDS): string {
  return fields.map((field) => `${alias}.${quote(COLUMNS[field])} AS ${quote(field)}`).join(', ')
}

function col (alias: string, field: Field): string {
  return `${alias}.${quote(COLUMNS[field])}`
}

export function buildStatements (table: string): Statements {
  const t = quoteTable(table)
  const c = (field: Field): string => quote(COLUMNS[field])

  const insertColumns = SAVE_FIELDS.map(([field]) => c(field)).join(', ')
  const insertValues = SAVE_FIELDS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')
  const replaceAll = SAVE_FIELDS
    .filter(([field]) => field !== 'userCode')
    .map(([field]) => `${c(field)} = EXCLUDED.${c(field)}`)
    .join(', ')
  // One statement. A free user code inserts. A user code held by an expired record (expired as
  // of the new grant's createdAt) replaces that record in place; a live holder makes it a no-op
  // (0 rows). Concurrent saves of one code serialize on the unique index: one wins.
  // A device-code hash already stored raises a unique violation, which `save` turns into false.
  const save = `INSERT INTO ${t} AS g (${insertColumns}) VALUES (${insertValues}) ` +
    `ON CONFLICT (${c('userCode')}) DO UPDATE SET ${replaceAll} ` +
    `WHERE ${col('g', 'expiresAt')} <= EXCLUDED.${c('createdAt')}`

  // One statement. `cur` locks the row and reads its latest committed version (a lock waits
  // for a concurrent decision and then sees it), deciding whether bookkeeping applies and
  // whether this poll is too fast. `upd` applies it to that same locked version. The final
  // SELECT returns the polled fields after bookkeeping, or as they are when none applies: never
  // older than a decision this statement had to wait for.
  const recordPoll = 'WITH cur AS (' +
    `SELECT ${col('r', 'deviceCodeHash')} AS "deviceCodeHash", ${selectList('r', POLLED_FIELDS)}, ` +
    `(${col('r', 'status')} = 'pending' AND ${col('r', 'expiresAt')} > $3::bigint AND ${col('r', 'clientId')} = $2::text) AS "eligible", ` +
    `(${col('r', 'lastPolledAt')} IS NOT NULL AND $3::bigint - ${col('r', 'lastPolledAt')} < ${col('r', 'interval')}::bigint * 1000 - $4::float8) AS "slow" ` +
    `FROM ${t} AS r WHERE ${col('r', 'deviceCodeHash')} = $1::text FOR NO KEY UPDATE` +
    '), upd AS (' +
    `UPDATE ${t} AS g SET ` +
    `${c('interval')} = CASE WHEN cur."slow" THEN ${col('g', 'interval')} + $5::integer ELSE ${col('g', 'interval')} END, ` +
    `${c('lastPolledAt')} = CASE WHEN cur."slow" THEN ${col('g', 'lastPolledAt')} ELSE $3::bigint END ` +
    `FROM cur WHERE ${col('g', 'deviceCodeHash')} = cur."deviceCodeHash" AND cur."eligible" ` +
    `RETURNING ${selectList('g', POLLED_FIELDS)}, cur."slow" AS "slowDown"` +
    ') ' +
    'SELECT * FROM upd UNION ALL ' +
    `SELECT ${POLLED_FIELDS.map((field) => `cur.${quote(field)}`).join(', ')}, false AS "slowDown" ` +
    'FROM cur WHERE NOT cur."eligible"'

  // One statement: the row lock makes concurrent claims queue; each re-checks the status after
  // the winner commits and finds 'consumed'.
  const claim = `UPDATE ${t} AS g SET ${c('status')} = 'consumed' ` +
    `WHERE ${col('g', 'deviceCodeHash')} = $1::text AND ${col('g', 'status')} = 'approved' AND ${col('g', 'expiresAt')} > $2::bigint ` +
    `RETURNING ${selectList('g')}`

  return { save, recordPoll, claim }
}
