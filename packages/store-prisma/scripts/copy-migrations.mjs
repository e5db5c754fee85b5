// The SQL migrations live once, in @device-grant/store-postgres (which owns the shared SQL);
// this package ships a copy so Prisma users find them under its own name
// (node_modules/@device-grant/store-prisma/migrations/). Run before packing.
import { cpSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { migrationsDirectory } from '@device-grant/store-postgres'

const target = fileURLToPath(new URL('../migrations/', import.meta.url))
rmSync(target, { recursive: true, force: true })
cpSync(migrationsDirectory, target, { recursive: true })
