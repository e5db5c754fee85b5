export { PrismaStore, prismaStore } from './prisma-store.js'
export type { DeviceGrantDelegate, DeviceGrantRow, PrismaClientLike, PrismaRawClient, PrismaStoreOptions } from './prisma-store.js'
export { COLUMNS, DEFAULT_TABLE } from '@device-grant/store-postgres/sql'
