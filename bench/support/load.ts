import type { Pool } from 'undici';

/** The p-th percentile (0-100) of ascending values; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Rounds to `digits` decimals for the result files. */
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * One annotator request through an undici pool (the load generator's own cost per request stays low, so
 * the machine's cores go to the service and PostgreSQL): a bearer key, and a JSON body when there is one.
 */
export function keyedRequest(pool: Pool, method: 'GET' | 'POST', path: string, key: string, body?: string) {
  return pool.request({
    method,
    path,
    headers: body
      ? { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
      : { authorization: `Bearer ${key}` },
    body,
  });
}
