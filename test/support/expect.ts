import type { TestApp, TestResponse } from './app';

const TABLES = ['projects', 'items', 'tasks', 'annotations', 'api_keys', 'idempotent_requests'] as const;

export type RowCounts = Record<(typeof TABLES)[number], number>;

/** Row counts of every table a request could write to, to prove a failed request wrote nothing. */
export async function rowCounts(t: TestApp): Promise<RowCounts> {
  const [row] = await t.db.query<RowCounts>(
    `SELECT ${TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS ${table}`).join(', ')}`,
  );
  return row;
}

/** The one error shape: { statusCode, error, message, details? } with the given status and a message matching. */
export function expectError(response: TestResponse, status: number, message: RegExp | string): void {
  expect(response.status).toBe(status);
  expect(typeof response.body).toBe('object');
  expect(
    Object.keys(response.body)
      .filter((key) => key !== 'details')
      .sort(),
  ).toEqual(['error', 'message', 'statusCode']);
  expect(response.body.statusCode).toBe(status);
  expect(typeof response.body.error).toBe('string');
  expect(response.body.message).toMatch(message);
}

/** Runs a request that must fail, then checks its error and that no table gained or lost a row. */
export async function expectRejectedWithoutWrites(
  t: TestApp,
  request: () => Promise<TestResponse>,
  status: number,
  message: RegExp | string,
): Promise<TestResponse> {
  const before = await rowCounts(t);
  const response = await request();
  expectError(response, status, message);
  expect(await rowCounts(t)).toEqual(before);
  return response;
}

export function ndjson(rows: unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

export const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' };
