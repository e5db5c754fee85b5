/**
 * Every SQL statement of the PostgreSQL stores, built once per store from the table name. Both
 * `@device-grant/store-postgres` (node-postgres) and `@device-grant/store-prisma` (raw queries)
 * send exactly these texts, so the two stores cannot drift apart. The column names are fixed:
 * they are those of the shipped migrations and of store-prisma's model fragment.
 */
import { createHash } from 'node:crypto'

/** The table the shipped migrations create for grants; the counter and once tables take its name as a prefix. */
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
  userAgent: 'user_agent',
  dpopJkt: 'dpop_jkt'
} as const

export type Field = keyof typeof COLUMNS

/** Columns in the order `save` binds them ($1 … $15), with the SQL type each parameter is cast to. */
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
  ['userAgent', 'text'],
  ['dpopJkt', 'text']
]

/** What `recordPoll` returns of a row (`PolledGrant`): the poll needs no more. */
export const POLLED_FIELDS: readonly Field[] = ['clientId', 'status', 'expiresAt', 'interval', 'lastPolledAt']

/**
 * One statement: its text, and a name unique to that text (for node-postgres prepared
 * statements: a name is prepared once per connection, then only bound and executed).
 */
export interface Statement {
  name: string
  text: string
}

export interface Statements {
  /** $1…$15 per SAVE_FIELDS. Affects 1 row when saved, 0 when a live record holds the user code. */
  save: Statement
  /** $1 hash. 0 or 1 row, every field. */
  findByDeviceCodeHash: Statement
  /** $1 user code. 0 or 1 row, every field. */
  findByUserCode: Statement
  /** As `save`, for several grants: each parameter an array (one element per grant, SAVE_FIELDS order, distinct user codes). One row ("deviceCodeHash") per grant saved. */
  saves: Statement
  /** $1 hash, $2 client id, $3 now, $4 leeway (ms), $5 step (s). 0 or 1 row: "deviceCodeHash", POLLED_FIELDS, "slowDown". */
  recordPoll: Statement
  /** As `recordPoll`, for several grants: each parameter an array (one element per poll, distinct hashes). One row per grant found. */
  recordPolls: Statement
  /** $1 hash, $2 subject, $3 now. Affects 1 row when bound. */
  bindSubject: Statement
  /** $1 hash, $2 subject, $3 now, $4 granted scope or null. Affects 1 row when this call won. */
  approve: Statement
  /** $1 hash, $2 subject, $3 now. Affects 1 row when this call won. */
  deny: Statement
  /** $1 hash, $2 now. Returns the row (status already 'consumed') when this call won. */
  claim: Statement
  /** $1 key, $2 window (ms), $3 window end, $4 increment. One row: "count". */
  hit: Statement
  /** $1 key, $2 now, $3 expires at. One row when this call won, none otherwise. */
  useOnce: Statement
  /** $1 grants expired at or before it go, $2 counters and once-keys expired at or before it go. One row: "grants". */
  sweep: Statement
}

export interface StatementOptions {
  /**
   * Whether a poll's commit skips waiting for the WAL flush (`synchronous_commit = off` for that
   * statement's transaction only). A poll writes only its bookkeeping, never a decision.
   */
  asyncPollCommit: boolean
}

const IDENTIFIER_PART = /^[^".\0]+$/

/** `name` or `schema.name` → `"name"` or `"schema"."name"`; anything else is a TypeError. */
export function quoteTable (table: string): string {
  return tableParts(table).map(quote).join('.')
}

function tableParts (table: string): string[] {
  const parts = typeof table === 'string' ? table.split('.') : []
  if (parts.length === 0 || parts.length > 2 || !parts.every((part) => IDENTIFIER_PART.test(part))) {
    throw new TypeError(`table must be "name" or "schema.name" without quotes, got ${JSON.stringify(table)}`)
  }
  return parts
}

/** The grant table's name with a suffix on its last part: `s.device_grant` → `"s"."device_grant_counter"`. */
function sibling (table: string, suffix: string): string {
  const parts = tableParts(table)
  parts[parts.length - 1] += suffix
  return parts.map(quote).join('.')
}

function quote (identifier: string): string {
  return `"${identifier}"`
}

const ALL_FIELDS = Object.keys(COLUMNS) as Field[]

/** `alias."column" AS "field", …`: rows come back keyed by record field. */
function selectList (alias: string, fields: readonly Field[] = ALL_FIELDS): string {
  return fields.map((field) => `${alias}.${quote(COLUMNS[field])} AS ${quote(field)}`).join(', ')
}

function col (alias: string, field: Field): string {
  return `${alias}.${quote(COLUMNS[field])}`
}

function c (field: Field): string {
  return quote(COLUMNS[field])
}

export function buildStatements (table: string, options: StatementOptions = { asyncPollCommit: false }): Statements {
  const t = quoteTable(table)
  const counters = sibling(table, '_counter')
  const once = sibling(table, '_once')

  const insertColumns = SAVE_FIELDS.map(([field]) => c(field)).join(', ')
  const replaceAll = SAVE_FIELDS
    .filter(([field]) => field !== 'userCode')
    .map(([field]) => `${c(field)} = EXCLUDED.${c(field)}`)
    .join(', ')
  // One statement. A free user code inserts. A user code held by an expired record (expired as
  // of the new grant's createdAt) replaces that record in place; a live holder makes it a no-op
  // (no row). Concurrent saves of one code serialize on the unique index: one wins.
  // A device-code hash already stored raises a unique violation, which `save` turns into false.
  const upsert = (rows: string, returning: string): string => `INSERT INTO ${t} AS g (${insertColumns}) ${rows} ` +
    `ON CONFLICT (${c('userCode')}) DO UPDATE SET ${replaceAll} ` +
    `WHERE ${col('g', 'expiresAt')} <= EXCLUDED.${c('createdAt')}${returning}`
  const save = upsert(`VALUES (${SAVE_FIELDS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})`, '')
  // Many grants, one array per column. Inserted in user-code order: two batches that share user
  // codes take the index's locks in the same order, so they queue instead of deadlocking.
  const saves = upsert(`SELECT * FROM unnest(${SAVE_FIELDS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) ` +
    `ORDER BY ${SAVE_FIELDS.findIndex(([field]) => field === 'userCode') + 1}`, ` RETURNING ${col('g', 'deviceCodeHash')} AS "deviceCodeHash"`)

  const find = (field: Field): string => `SELECT ${selectList('g')} FROM ${t} AS g WHERE ${col('g', field)} = $1::text`

  // set_config(…, true) lasts until the end of the statement's own transaction, and that
  // transaction's commit is what reads it. It runs only when a row is found: the only case in
  // which the statement locks or writes anything.
  const asyncCommit = options.asyncPollCommit ? " AND set_config('synchronous_commit', 'off', true) = 'off'" : ''
  // One statement. `cur` locks the row and reads its latest committed version (a lock waits
  // for a concurrent decision and then sees it), deciding whether bookkeeping applies and
  // whether this poll is too fast. `upd` applies it to that same locked version. The final
  // SELECT returns the polled fields after bookkeeping, or as they are when none applies: never
  // older than a decision this statement had to wait for. `source` names the polled rows and
  // `p`, the parameters of each (hash, clientId, now, leeway, step).
  const poll = (source: string, order: string): string => {
    const returned = `${col('r', 'deviceCodeHash')} AS "deviceCodeHash", ${selectList('r', POLLED_FIELDS)}`
    return 'WITH cur AS (' +
      `SELECT ${returned}, ` +
      `(${col('r', 'status')} = 'pending' AND ${col('r', 'expiresAt')} > p."now" AND ${col('r', 'clientId')} = p."clientId") AS "eligible", ` +
      `(${col('r', 'lastPolledAt')} IS NOT NULL AND p."now" - ${col('r', 'lastPolledAt')} < ${col('r', 'interval')}::bigint * 1000 - p."leeway") AS "slow", ` +
      'p."now", p."step" ' +
      `${source}${asyncCommit}${order} FOR NO KEY UPDATE OF r` +
      '), upd AS (' +
      `UPDATE ${t} AS g SET ` +
      `${c('interval')} = CASE WHEN cur."slow" THEN ${col('g', 'interval')} + cur."step" ELSE ${col('g', 'interval')} END, ` +
      `${c('lastPolledAt')} = CASE WHEN cur."slow" THEN ${col('g', 'lastPolledAt')} ELSE cur."now" END ` +
      `FROM cur WHERE ${col('g', 'deviceCodeHash')} = cur."deviceCodeHash" AND cur."eligible" ` +
      `RETURNING ${col('g', 'deviceCodeHash')} AS "deviceCodeHash", ${selectList('g', POLLED_FIELDS)}, cur."slow" AS "slowDown"` +
      ') ' +
      'SELECT * FROM upd UNION ALL ' +
      `SELECT cur."deviceCodeHash", ${POLLED_FIELDS.map((field) => `cur.${quote(field)}`).join(', ')}, false AS "slowDown" ` +
      'FROM cur WHERE NOT cur."eligible"'
  }
  const recordPoll = poll(`FROM ${t} AS r, (SELECT $2::text AS "clientId", $3::bigint AS "now", $4::float8 AS "leeway", $5::integer AS "step") AS p ` +
    `WHERE ${col('r', 'deviceCodeHash')} = $1::text`, '')
  // Many polls, one array per parameter. Rows are locked in hash order: two batches that share
  // grants (two instances polled by one device) queue instead of deadlocking.
  const recordPolls = poll(`FROM ${t} AS r JOIN unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::integer[]) ` +
    `AS p ("deviceCodeHash", "clientId", "now", "leeway", "step") ON ${col('r', 'deviceCodeHash')} = p."deviceCodeHash" WHERE true`,
  ` ORDER BY ${col('r', 'deviceCodeHash')}`)

  // `pending → …` (or a bind) only while live and unbound or bound to the same subject.
  const decidable = `WHERE ${col('g', 'deviceCodeHash')} = $1::text AND ${col('g', 'status')} = 'pending' ` +
    `AND ${col('g', 'expiresAt')} > $3::bigint AND (${col('g', 'subject')} IS NULL OR ${col('g', 'subject')} = $2::text)`
  const bindSubject = `UPDATE ${t} AS g SET ${c('subject')} = $2::text ${decidable}`
  const approve = `UPDATE ${t} AS g SET ${c('status')} = 'approved', ${c('subject')} = $2::text, ${c('decidedAt')} = $3::bigint, ` +
    `${c('grantedScope')} = COALESCE($4::text, ${col('g', 'grantedScope')}) ${decidable}`
  const deny = `UPDATE ${t} AS g SET ${c('status')} = 'denied', ${c('subject')} = $2::text, ${c('decidedAt')} = $3::bigint ${decidable}`

  // One statement: the row lock makes concurrent claims queue; each re-checks the status after
  // the winner commits and finds 'consumed'.
  const claim = `UPDATE ${t} AS g SET ${c('status')} = 'consumed' ` +
    `WHERE ${col('g', 'deviceCodeHash')} = $1::text AND ${col('g', 'status')} = 'approved' AND ${col('g', 'expiresAt')} > $2::bigint ` +
    `RETURNING ${selectList('g')}`

  // One row per key and window: a late caller whose clock is a window behind counts in its own
  // window instead of resetting the current one. The conflict makes concurrent hits queue on the
  // row, each adding to the count the one before it committed.
  const hit = `INSERT INTO ${counters} AS k ("key", "window_ms", "reset_at", "hits") ` +
    'VALUES ($1::text, $2::bigint, $3::bigint, GREATEST($4::bigint, 0)) ' +
    'ON CONFLICT ("key", "window_ms", "reset_at") DO UPDATE SET "hits" = GREATEST(k."hits" + $4::bigint, 0) ' +
    'RETURNING k."hits" AS "count"'

  // A concurrent caller waits on the first one's row, then re-checks the WHERE against it.
  const useOnce = `INSERT INTO ${once} AS o ("key", "expires_at") VALUES ($1::text, $3::bigint) ` +
    'ON CONFLICT ("key") DO UPDATE SET "expires_at" = EXCLUDED."expires_at" WHERE o."expires_at" <= $2::bigint ' +
    'RETURNING 1 AS "won"'

  const sweep = `WITH g AS (DELETE FROM ${t} WHERE ${c('expiresAt')} <= $1::bigint RETURNING 1), ` +
    `k AS (DELETE FROM ${counters} WHERE "reset_at" <= $2::bigint RETURNING 1), ` +
    `o AS (DELETE FROM ${once} WHERE "expires_at" <= $2::bigint RETURNING 1) ` +
    'SELECT (SELECT count(*) FROM g)::integer AS "grants", (SELECT count(*) FROM k)::integer AS "counters", (SELECT count(*) FROM o)::integer AS "once"'

  const texts = { save, saves, findByDeviceCodeHash: find('deviceCodeHash'), findByUserCode: find('userCode'), recordPoll, recordPolls, bindSubject, approve, deny, claim, hit, useOnce, sweep }
  return Object.fromEntries(Object.entries(texts).map(([op, text]) => [op, { name: statementName(op, text), text }])) as unknown as Statements
}

/** `dg_<op>_<hash of the text>`: two stores on one pool with different tables never share a name. */
function statementName (op: string, text: string): string {
  return `dg_${op}_${createHash('sha256').update(text).digest('base64url').slice(0, 12)}`
}
