import { isDatabaseUnavailable } from './database-unavailable';

function withFields(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('isDatabaseUnavailable', () => {
  it.each([
    [
      'a terminated backend',
      withFields('terminating connection due to administrator command', { code: '57P01' }),
    ],
    ['a server starting up', withFields('the database system is starting up', { code: '57P03' })],
    ['a connection failure', withFields('connection failure', { code: '08006' })],
    ['a refused connection', withFields('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['a reset connection', withFields('read ECONNRESET', { code: 'ECONNRESET' })],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    [
      'a client whose connection died',
      new Error('Client has encountered a connection error and is not queryable'),
    ],
    ['no pooled connection in time', new Error('timeout exceeded when trying to connect')],
    ['a connect timeout', new Error('Connection terminated due to connection timeout')],
    ['Prisma: server not reachable', withFields("Can't reach database server", { code: 'P1001' })],
    [
      "Prisma wrapping the driver's SQLSTATE",
      withFields('Database error', {
        code: 'P2039',
        meta: {
          driverAdapterError: {
            name: 'DriverAdapterError',
            cause: { kind: 'postgres', originalCode: '57P01' },
          },
        },
      }),
    ],
    [
      'a cause further down',
      new Error('import failed', { cause: withFields('x', { code: 'ECONNREFUSED' }) }),
    ],
  ])('recognises %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', withFields('duplicate key value violates unique constraint', { code: '23505' })],
    ['a syntax error', withFields('syntax error at or near', { code: '42601' })],
    ['a statement timeout', withFields('canceling statement due to statement timeout', { code: '57014' })],
    ['a plain error', new Error('something else')],
    ['not an error', 'Connection terminated'],
  ])('leaves %s alone', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
