export { PrismaStore, prismaStore } from './prisma-store.js'
export type {
  DecidableWhere,
  DecisionData,
  DeviceGrantDelegate,
  DeviceGrantRow,
  PrismaClientLike,
  PrismaRawClient,
  PrismaStoreOptions
} from './prisma-store.js'
export { COLUMNS, DEFAULT_TABLE } from './sql.js'
