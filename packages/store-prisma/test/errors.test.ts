// The error shapes Prisma 7 + @prisma/adapter-pg produce (recorded from real failures), and
// which of them mean "database unavailable". The live failures are in connection.test.ts.
import t from 'tap'
import { isConnectionError, isUniqueViolation } from '../src/errors.js'

function prismaError (code: string, cause?: Record<string, unknown>): Error {
  const err = Object.assign(new Error(`prisma ${code}`), { code, clientVersion: '7.10.1' }) as Error & { meta?: unknown }
  if (cause !== undefined) err.meta = { driverAdapterError: Object.assign(new Error('driver'), { name: 'DriverAdapterError', cause }) }
  return err
}

function nodeError (message: string, props: Record<string, unknown>): Error {
  return Object.assign(new Error(message), props)
}

t.test('connection failures', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['P1001 from a model query', prismaError('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 1 })],
    ['P1017', prismaError('P1017')],
    ['P2024 pool timeout', prismaError('P2024')],
    ['initialization error', Object.assign(new Error('init'), { errorCode: 'P1002' })],
    ['raw query, adapter kind DatabaseNotReachable', prismaError('P2010', { kind: 'DatabaseNotReachable' })],
    ['raw query, adapter kind ConnectionClosed', prismaError('P2010', { kind: 'ConnectionClosed' })],
    ['raw query, 57P01 admin shutdown', prismaError('P2010', { originalCode: '57P01', kind: 'postgres', code: '57P01', severity: 'FATAL' })],
    ['raw query, postgres kind with 08006', prismaError('P2010', { kind: 'postgres', code: '08006', severity: 'FATAL' })],
    ['too many connections', prismaError('P2010', { originalCode: '53300', kind: 'TooManyConnections' })],
    ['pg: Connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
    ['pg-pool: timeout exceeded when trying to connect', new Error('timeout exceeded when trying to connect')],
    ['socket error', nodeError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' })],
    ['wrapped in a cause', new Error('outer', { cause: nodeError('read ECONNRESET', { code: 'ECONNRESET' }) })]
  ]
  for (const [name, err] of cases) t.equal(isConnectionError(err), true, name)
})

t.test('everything else', async (t) => {
  const selfCause = new Error('loop') as Error & { cause?: unknown }
  selfCause.cause = selfCause
  const cases: Array<[string, unknown]> = [
    ['unique violation', prismaError('P2002', { originalCode: '23505', kind: 'UniqueConstraintViolation' })],
    ['missing table', prismaError('P2010', { originalCode: '42P01', kind: 'TableDoesNotExist' })],
    ['value out of range', prismaError('P2010', { originalCode: '22003', kind: 'ValueOutOfRange' })],
    ['a coded error mentioning a closed connection', prismaError('P2010', { kind: 'postgres', code: '42601', message: 'connection terminated' })],
    ['a TypeError', new TypeError('x is not a function')],
    ['a cause loop', selfCause],
    ['a string', 'Connection terminated'],
    ['null', null],
    ['undefined', undefined]
  ]
  for (const [name, err] of cases) t.equal(isConnectionError(err), false, name)
})

t.test('unique violations', async (t) => {
  t.equal(isUniqueViolation(prismaError('P2002')), true, 'P2002')
  t.equal(isUniqueViolation(prismaError('P2010', { originalCode: '23505', kind: 'UniqueConstraintViolation' })), true, 'raw 23505')
  t.equal(isUniqueViolation(prismaError('P2010', { originalCode: '42P01', kind: 'TableDoesNotExist' })), false)
  t.equal(isUniqueViolation(new Error('x')), false)
})
