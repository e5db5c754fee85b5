// The shipped fragment (prisma/device-grant.prisma), the shipped SQL migrations and the column
// names of the shared SQL module (@device-grant/store-postgres) must agree field by field.
// `prisma migrate diff` needs the schema engine binary, which cannot be downloaded offline, so the
// test parses the fragment itself, checks that parse against the client Prisma generated from the
// same fragment, and compares it with what PostgreSQL reports after applying the migrations
// (information_schema + pg_index).
import { readdirSync, readFileSync } from 'node:fs'
import { migrationsDirectory } from '@device-grant/store-postgres'
import t from 'tap'
import { COLUMNS, DEFAULT_TABLE, prismaStore } from '../src/index.js'
import { Prisma } from '../generated/client/client.js'
import { createTestDatabase, grant } from './helpers.js'

interface FragmentField {
  name: string
  type: string
  optional: boolean
  column: string
  id: boolean
  unique: boolean
}

interface FragmentModel {
  model: string
  table: string
  fields: FragmentField[]
  /** `@@id([...])`: field names. */
  id: string[]
  indexes: string[][]
}

function fieldList (list: string): string[] {
  return list.split(',').map((name) => name.trim())
}

/** Enough of the Prisma schema language for models of scalar fields. */
function parseFragment (source: string): FragmentModel[] {
  const lines = source.split('\n').map((line) => line.replace(/\/\/.*$/, '').trim()).filter((line) => line !== '')
  const models: FragmentModel[] = []
  let current: FragmentModel | undefined
  for (const line of lines) {
    const header = /^model\s+(\w+)\s*\{$/.exec(line)
    if (header?.[1] !== undefined) {
      current = { model: header[1], table: header[1], fields: [], id: [], indexes: [] }
      models.push(current)
      continue
    }
    if (current === undefined) throw new Error(`unexpected line outside a model: ${line}`)
    if (line === '}') {
      current = undefined
      continue
    }
    if (line.startsWith('@@')) {
      const map = /^@@map\("([^"]+)"\)$/.exec(line)
      const index = /^@@index\(\[([^\]]+)\]\)$/.exec(line)
      const id = /^@@id\(\[([^\]]+)\]\)$/.exec(line)
      if (map?.[1] !== undefined) current.table = map[1]
      else if (index?.[1] !== undefined) current.indexes.push(fieldList(index[1]))
      else if (id?.[1] !== undefined) current.id = fieldList(id[1])
      else throw new Error(`unexpected block attribute: ${line}`)
      continue
    }
    const field = /^(\w+)\s+(\w+)(\?)?(.*)$/.exec(line)
    if (field === null) throw new Error(`unexpected line: ${line}`)
    const [, name = '', type = '', optional, attributes = ''] = field
    const unknown = attributes.replace(/@id|@unique|@map\("[^"]+"\)/g, '').trim()
    if (unknown !== '') throw new Error(`unexpected attribute on ${name}: ${unknown}`)
    const column = /@map\("([^"]+)"\)/.exec(attributes)?.[1] ?? name
    const id = /@id\b/.test(attributes)
    current.fields.push({ name, type, optional: optional === '?', column, id, unique: /@unique\b/.test(attributes) })
    if (id) current.id = [name]
  }
  return models
}

const models = parseFragment(readFileSync(new URL('../prisma/device-grant.prisma', import.meta.url), 'utf8'))
const grantModel = models[0] as FragmentModel
const db = await createTestDatabase()
t.teardown(() => db.close())
const migrationNames = readdirSync(migrationsDirectory, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()

/** Prisma's PostgreSQL types for the scalar types the fragment uses (what `migrate` emits). */
const PG_TYPES: Record<string, string> = { String: 'text', Int: 'integer', BigInt: 'bigint' }

t.test('the parse of the fragment matches the client Prisma generated from it', async (t) => {
  t.same(models.map((m) => m.model), ['DeviceGrant', 'DeviceGrantCounter', 'DeviceGrantOnce'])
  t.same(Object.values(Prisma.ModelName), models.map((m) => m.model))
  const enums: Record<string, Record<string, string>> = {
    DeviceGrant: Prisma.DeviceGrantScalarFieldEnum,
    DeviceGrantCounter: Prisma.DeviceGrantCounterScalarFieldEnum,
    DeviceGrantOnce: Prisma.DeviceGrantOnceScalarFieldEnum
  }
  for (const m of models) t.same(Object.keys(enums[m.model] ?? {}), m.fields.map((f) => f.name), `${m.model}: the same fields in the same order`)
})

t.test('the fragment uses the names the store\'s SQL uses', async (t) => {
  t.equal(grantModel.table, DEFAULT_TABLE)
  t.same(Object.fromEntries(grantModel.fields.map((f) => [f.name, f.column])), COLUMNS)
  t.same(models.slice(1).map((m) => m.table), [`${DEFAULT_TABLE}_counter`, `${DEFAULT_TABLE}_once`])
})

t.test('the migrations are shipped in the folder layout prisma migrate uses', async (t) => {
  t.same(migrationNames.length, 2)
  for (const name of migrationNames) t.match(name, /^\d{14}_[a-z_]+$/)
})

t.test('the migrations create exactly the fragment\'s tables, columns and types', async (t) => {
  const { rows: tables } = await db.admin.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [db.schema])
  t.same(tables.map((r) => r.table_name), models.map((m) => m.table).sort(), 'one table per model')
  for (const m of models) {
    const { rows: columns } = await db.admin.query<{ column_name: string, data_type: string, is_nullable: string, column_default: string | null }>(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [db.schema, m.table])
    t.same(columns, m.fields.map((f) => ({
      column_name: f.column,
      data_type: PG_TYPES[f.type] ?? `unmapped Prisma type ${f.type}`,
      is_nullable: f.optional ? 'YES' : 'NO',
      column_default: null
    })), `${m.table}: columns in field order, with Prisma's types, nullability and no defaults`)
  }
})

t.test('the migrations create exactly the fragment\'s keys and indexes, with Prisma\'s names', async (t) => {
  for (const m of models) {
    const { rows } = await db.admin.query<{ name: string, primary: boolean, unique: boolean, columns: string[], method: string }>(
      `SELECT i.relname AS name, ix.indisprimary AS primary, ix.indisunique AS unique, am.amname AS method,
              array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_am am ON am.oid = i.relam
       JOIN pg_class c ON c.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
       WHERE n.nspname = $1 AND c.relname = $2
       GROUP BY 1, 2, 3, 4 ORDER BY 1`, [db.schema, m.table])
    const column = (name: string): string => m.fields.find((f) => f.name === name)?.column ?? `unknown field ${name}`
    const expected = [
      { name: `${m.table}_pkey`, primary: true, unique: true, columns: m.id.map(column), method: 'btree' },
      ...m.fields.filter((f) => f.unique).map((f) => ({ name: `${m.table}_${f.column}_key`, primary: false, unique: true, columns: [f.column], method: 'btree' })),
      ...m.indexes.map((fields) => {
        const columns = fields.map(column)
        return { name: `${m.table}_${columns.join('_')}_idx`, primary: false, unique: false, columns, method: 'btree' }
      })
    ].sort((a, b) => a.name.localeCompare(b.name))
    t.same(rows, expected, m.table)
  }
})

t.test('the generated client reads and writes every column of the migrated tables', async (t) => {
  const g = { ...grant(), lastPolledAt: 1, subject: 's', grantedScope: 'g', decidedAt: 2, ip: 'i', userAgent: 'u', dpopJkt: 'j' }
  const store = prismaStore({ prisma: db.prisma, table: db.table })
  t.equal(await store.save(g), true, 'raw INSERT through the store')
  const row = await db.prisma.deviceGrant.findUniqueOrThrow({ where: { deviceCodeHash: g.deviceCodeHash } })
  t.same(Object.keys(row), grantModel.fields.map((f) => f.name))
  t.equal(row.dpopJkt, 'j')
  await db.prisma.deviceGrant.create({ data: { ...grant(), createdAt: 1n, expiresAt: 2n } })
  t.equal(await db.prisma.deviceGrant.count(), 2)
  await store.hit('k', { windowMs: 1000, now: 1500, increment: 2 })
  t.same(await db.prisma.deviceGrantCounter.findMany(), [{ key: 'k', windowMs: 1000n, resetAt: 2000n, hits: 2n }])
  await store.useOnce('jti', { now: 1, expiresAt: 2 })
  t.same(await db.prisma.deviceGrantOnce.findMany(), [{ key: 'jti', expiresAt: 2n }])
})
