// The shipped fragment (prisma/device-grant.prisma), the shipped SQL migration and the column
// names in src/sql.ts must agree field by field. `prisma migrate diff` needs the schema engine
// binary, which cannot be downloaded offline, so the test parses the fragment itself, checks that
// parse against the client Prisma generated from the same fragment, and compares it with what
// PostgreSQL reports after applying the migration (information_schema + pg_index).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { COLUMNS, DEFAULT_TABLE, prismaStore } from '../src/index.js'
import { Prisma } from '../generated/client/client.js'
import { createTestDatabase, grant, migrationNames } from './helpers.js'

interface FragmentField {
  name: string
  type: string
  optional: boolean
  column: string
  id: boolean
  unique: boolean
}

interface Fragment {
  model: string
  table: string
  fields: FragmentField[]
  indexes: string[][]
}

/** Enough of the Prisma schema language for a single model of scalar fields. */
function parseFragment (source: string): Fragment {
  const lines = source.split('\n').map((line) => line.replace(/\/\/.*$/, '').trim()).filter((line) => line !== '')
  const header = lines.findIndex((line) => /^model\s+\w+\s*\{$/.test(line))
  const model = /^model\s+(\w+)/.exec(lines[header] ?? '')?.[1]
  if (model === undefined) throw new Error('no model in the fragment')
  if (lines.filter((line) => /^model\s/.test(line)).length !== 1) throw new Error('expected exactly one model')
  const fragment: Fragment = { model, table: model, fields: [], indexes: [] }
  for (const line of lines.slice(header + 1)) {
    if (line === '}') break
    if (line.startsWith('@@')) {
      const map = /^@@map\("([^"]+)"\)$/.exec(line)
      const index = /^@@index\(\[([^\]]+)\]\)$/.exec(line)
      if (map?.[1] !== undefined) fragment.table = map[1]
      else if (index?.[1] !== undefined) fragment.indexes.push(index[1].split(',').map((name) => name.trim()))
      else throw new Error(`unexpected block attribute: ${line}`)
      continue
    }
    const field = /^(\w+)\s+(\w+)(\?)?(.*)$/.exec(line)
    if (field === null) throw new Error(`unexpected line: ${line}`)
    const [, name = '', type = '', optional, attributes = ''] = field
    const unknown = attributes.replace(/@id|@unique|@map\("[^"]+"\)/g, '').trim()
    if (unknown !== '') throw new Error(`unexpected attribute on ${name}: ${unknown}`)
    fragment.fields.push({
      name,
      type,
      optional: optional === '?',
      column: /@map\("([^"]+)"\)/.exec(attributes)?.[1] ?? name,
      id: /@id\b/.test(attributes),
      unique: /@unique\b/.test(attributes)
    })
  }
  return fragment
}

const fragment = parseFragment(readFileSync(new URL('../prisma/device-grant.prisma', import.meta.url), 'utf8'))
const db = await createTestDatabase()
t.teardown(() => db.close())

/** Prisma's PostgreSQL types for the scalar types the fragment uses (what `migrate` emits). */
const PG_TYPES: Record<string, string> = { String: 'text', Int: 'integer', BigInt: 'bigint' }

t.test('the parse of the fragment matches the client Prisma generated from it', async (t) => {
  t.equal(fragment.model, 'DeviceGrant')
  t.same(Object.values(Prisma.ModelName), [fragment.model])
  t.same(Object.keys(Prisma.DeviceGrantScalarFieldEnum), fragment.fields.map((f) => f.name), 'the same fields in the same order')
})

t.test('the fragment uses the names the store\'s SQL uses', async (t) => {
  t.equal(fragment.table, DEFAULT_TABLE)
  t.same(Object.fromEntries(fragment.fields.map((f) => [f.name, f.column])), COLUMNS)
})

t.test('one migration is shipped, in the folder layout prisma migrate uses', async (t) => {
  t.same(migrationNames.length, 1)
  t.match(migrationNames[0], /^\d{14}_device_grant$/)
})

t.test('the migration creates exactly the fragment\'s table, columns and types', async (t) => {
  const { rows: tables } = await db.admin.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [db.schema])
  t.same(tables.map((r) => r.table_name), [fragment.table], 'one table')

  const { rows: columns } = await db.admin.query<{ column_name: string, data_type: string, is_nullable: string, column_default: string | null }>(
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`, [db.schema, fragment.table])
  t.same(columns, fragment.fields.map((f) => ({
    column_name: f.column,
    data_type: PG_TYPES[f.type] ?? `unmapped Prisma type ${f.type}`,
    is_nullable: f.optional ? 'YES' : 'NO',
    column_default: null
  })), 'columns in field order, with Prisma\'s types, nullability and no defaults')
})

t.test('the migration creates exactly the fragment\'s keys and indexes, with Prisma\'s names', async (t) => {
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
     GROUP BY 1, 2, 3, 4 ORDER BY 1`, [db.schema, fragment.table])
  const column = (name: string): string => fragment.fields.find((f) => f.name === name)?.column ?? `unknown field ${name}`
  const expected = [
    ...fragment.fields.filter((f) => f.id).map((f) => ({ name: `${fragment.table}_pkey`, primary: true, unique: true, columns: [f.column], method: 'btree' })),
    ...fragment.fields.filter((f) => f.unique).map((f) => ({ name: `${fragment.table}_${f.column}_key`, primary: false, unique: true, columns: [f.column], method: 'btree' })),
    ...fragment.indexes.map((fields) => {
      const columns = fields.map(column)
      return { name: `${fragment.table}_${columns.join('_')}_idx`, primary: false, unique: false, columns, method: 'btree' }
    })
  ].sort((a, b) => a.name.localeCompare(b.name))
  t.same(rows, expected)
})

t.test('the generated client reads and writes every column of the migrated table', async (t) => {
  const g = { ...grant(), lastPolledAt: 1, subject: 's', grantedScope: 'g', decidedAt: 2, ip: 'i', userAgent: 'u' }
  const store = prismaStore({ prisma: db.prisma, table: db.table })
  t.equal(await store.save(g), true, 'raw INSERT through the store')
  const row = await db.prisma.deviceGrant.findUniqueOrThrow({ where: { deviceCodeHash: g.deviceCodeHash } })
  t.same(Object.keys(row), fragment.fields.map((f) => f.name))
  await db.prisma.deviceGrant.create({ data: { ...grant(), createdAt: 1n, expiresAt: 2n } })
  t.equal(await db.prisma.deviceGrant.count(), 2)
})
