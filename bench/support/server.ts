import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'pg';

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

export interface BenchServer {
  baseUrl: string;
  /** The benchmark database, for worker processes of the same service. */
  databaseUrl: string;
  /** Vacuums and analyzes the benchmark database, as autovacuum would after a bulk load. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Runs the built service (dist/) as its own process, the way `npm start` does, on a
 * fresh database that is dropped afterwards. Only the API role: workers would compete
 * for the two cores and are not what these benchmarks measure.
 */
export async function startBenchServer(port = 3900, env: Record<string, string> = {}): Promise<BenchServer> {
  const database = `labelloop_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      join(__dirname, '../../dist/apps/api/src/main.js'),
    ],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: url.toString(),
        ADMIN_API_KEY: BENCH_ADMIN_KEY,
        LOG_LEVEL: 'warn',
        ...(process.env.BENCH_QUEUE ? { COLD_START_QUEUE_SIZE: process.env.BENCH_QUEUE } : {}),
        STORAGE_FS_ROOT: join(__dirname, '../../.data/bench-objects'),
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${baseUrl}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 200 || child.exitCode !== null) throw new Error('bench server did not become ready');
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    baseUrl,
    databaseUrl: url.toString(),
    settle: async () => {
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      await client.query('VACUUM (ANALYZE) items, tasks');
      await client.end();
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
      const cleanup = new Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/** The fields the benchmarks read from the API's answers. */
export interface ApiAnswer {
  id: string;
  key: string;
  [field: string]: unknown;
}

export async function api(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  key = BENCH_ADMIN_KEY,
): Promise<ApiAnswer> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as ApiAnswer;
}

/** Streams NDJSON lines into a project's item import (one request, never buffered) and returns the response. */
export function importNdjson(
  baseUrl: string,
  projectId: string,
  lines: Iterable<string> | AsyncIterable<string>,
): Promise<Response> {
  return fetch(`${baseUrl}/v1/projects/${projectId}/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
    body: Readable.toWeb(Readable.from(lines)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
}
