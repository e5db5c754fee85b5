import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * Where the shipped migrations are: one folder per migration, `<timestamp>_<name>/migration.sql`
 * (the layout `prisma migrate` uses), plain SQL for any other migration tool or `psql`.
 */
export const migrationsDirectory: string = fileURLToPath(new URL('../migrations/', import.meta.url))

/**
 * Every shipped migration, oldest first, as one script (the tables land in the first schema of
 * the connection's `search_path`). For tests and throw-away databases: in production, let your
 * migration tool apply the files, so each runs once.
 */
export function migrationSql (): string {
  return readdirSync(migrationsDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => readFileSync(`${migrationsDirectory}${name}/migration.sql`, 'utf8'))
    .join('\n')
}
