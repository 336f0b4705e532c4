import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export type Prisma = InstanceType<typeof PrismaClient>;

export interface PoolOptions {
  max: number;
  /** Server-side limit on one statement (0: none). */
  statementTimeoutMs: number;
  /** The server ends a session that sits idle inside a transaction this long (a stalled client's upload). */
  idleInTransactionTimeoutMs: number;
  /**
   * How long a query waits for a connection: to be made (an unreachable server) or to come free (every one busy).
   * Without it a request would hang for as long as the database is away instead of failing fast (503).
   */
  connectTimeoutMs: number;
  /** Where connection errors go: a connection lost while idle or checked out must never end the process. */
  onError: (error: Error) => void;
}

/**
 * One pg pool shared by Prisma (CRUD) and the repositories' hand-written bulk and hot-path SQL. Every
 * connection gets an error listener when it is made: pg emits 'error' on a checked-out client whose
 * connection dies (a failover, a terminated backend), and an unheard 'error' event would crash the process.
 * The query in flight fails instead, and the pool replaces the connection.
 */
export function createPool(url: string, options: PoolOptions): Pool {
  const pool = new Pool({
    connectionString: url,
    max: options.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: 'labelloop',
    statement_timeout: options.statementTimeoutMs || undefined,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs || undefined,
  });
  pool.on('error', options.onError);
  pool.on('connect', (client) => client.on('error', options.onError));
  return pool;
}

export function createPrisma(pool: Pool): Prisma {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}
