import { PrismaPg } from '@prisma/adapter-pg'
import type pg from 'pg'
import { prismaStore } from '../src/index.js'
import { PrismaClient } from '../generated/client/client.js'
import { createTestSchema, DATABASE_URL, type TestSchema } from '../../store-postgres/test/shared/fixtures.js'
import type { PgStoreHarness } from '../../store-postgres/test/shared/harness.js'

export { PrismaClient }
export { DATABASE_URL, grant, polled, waitForLockWait, within } from '../../store-postgres/test/shared/fixtures.js'

export function makeClient (options: { schema: string, applicationName: string, url?: string, max?: number, searchPath?: boolean }): PrismaClient {
  const pool: pg.PoolConfig = {
    connectionString: options.url ?? DATABASE_URL,
    max: options.max ?? 10,
    application_name: options.applicationName,
    connectionTimeoutMillis: 5000
  }
  // Lets unqualified raw SQL (the store's default table name) find the table.
  if (options.searchPath === true) pool.options = `-c search_path=${options.schema}`
  const adapter = new PrismaPg(pool, { schema: options.schema })
  return new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] })
}

export interface TestDatabase extends TestSchema {
  /** A client on the schema, with query events on. */
  prisma: PrismaClient
  /** Another client on the same schema (its own pool), e.g. to play a second process. */
  newClient: (options?: { searchPath?: boolean, max?: number }) => PrismaClient
  /** Disconnects every client and drops the schema. */
  close: () => Promise<void>
}

export async function createTestDatabase (): Promise<TestDatabase> {
  const db = await createTestSchema('dg')
  const clients: PrismaClient[] = []
  const newClient = (options: { searchPath?: boolean, max?: number } = {}): PrismaClient => {
    const client = makeClient({ schema: db.schema, applicationName: db.applicationName, ...options })
    clients.push(client)
    return client
  }
  return {
    ...db,
    prisma: newClient(),
    newClient,
    async close () {
      for (const client of clients) await client.$disconnect()
      await db.drop()
    }
  }
}

/** The shared PostgreSQL store tests' view of this store, on `db`. */
export function harness (db: TestDatabase): PgStoreHarness {
  return {
    packageName: '@device-grant/store-prisma',
    pools: 'clients',
    db,
    store: prismaStore({ prisma: db.prisma, table: db.table }),
    storeWith: (options) => prismaStore({ prisma: db.prisma, table: db.table, ...options }),
    otherProcess: () => prismaStore({ prisma: db.newClient({ max: 4 }), table: db.table }),
    // A Prisma error (P1001, or P2010 for a raw query) wraps the driver's.
    refusedCause: Error,
    unreachable: () => {
      const prisma = makeClient({ schema: db.schema, applicationName: `${db.applicationName}_down`, url: 'postgresql://postgres@127.0.0.1:1/test' })
      return { store: prismaStore({ prisma, table: db.table }), close: async () => { await prisma.$disconnect() } }
    }
  }
}
