import { z } from 'zod';

/** The largest PostgreSQL `integer` (model and dataset version numbers are one). */
export const DATABASE_INT_MAX = 2_147_483_647;

/**
 * A positive number compared with an `integer` column (a version number, a cursor over one): out of that
 * range it is a 400 naming the field, where PostgreSQL would refuse the query (a 500).
 */
export const positiveDatabaseInt = z.number().int().min(1).max(DATABASE_INT_MAX);

/** positiveDatabaseInt from a query string (`?cursor=12`). */
export const positiveDatabaseIntQuery = z.coerce.number().int().min(1).max(DATABASE_INT_MAX);
