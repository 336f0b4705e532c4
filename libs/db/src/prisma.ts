import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from './generated/prisma/client';

export type Prisma = InstanceType<typeof PrismaClient>;

/** One pg pool shared by Prisma (CRUD) and the repositories' hand-written bulk and hot-path SQL. */
export function createPool(url: string, max: number): Pool {
  return new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, application_name: 'labelloop' });
}

export function createPrisma(pool: Pool): Prisma {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}
