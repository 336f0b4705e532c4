// Errors that say the database is away (down, failing over, unreachable, out of connections) rather than that
// the request or the code is wrong: the same request can succeed once the database is back.

/** SQLSTATEs of a server shutting down, crashed, starting up, or out of connections (class 08 is tested apart). */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket errors on the way to the server. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Prisma's codes for the same: not reachable, timed out, connection closed, no pool connection in time. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** What Prisma's driver adapter calls a socket error it recognised. */
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
/** node-postgres and its pool report a lost or unobtainable connection with these messages and no code. */
const DRIVER_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
];

interface ErrorFields {
  code?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
}

function saysUnavailable(error: ErrorFields): boolean {
  for (const code of [error.code, error.originalCode]) {
    if (typeof code !== 'string') continue;
    if (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (SOCKET_CODES.has(code) || PRISMA_CODES.has(code)) return true;
  }
  if (typeof error.kind === 'string' && ADAPTER_KINDS.has(error.kind)) return true;
  const message = typeof error.message === 'string' ? error.message : '';
  return DRIVER_MESSAGES.some((known) => message.startsWith(known));
}

/**
 * Whether an error (as thrown by pg, its pool or Prisma, however wrapped) means the database could not be
 * reached or dropped the connection. Follows `cause` and Prisma's `meta.driverAdapterError`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const fields = current as ErrorFields;
    if (saysUnavailable(fields)) return true;
    pending.push(fields.cause, fields.meta?.driverAdapterError);
  }
  return false;
}
