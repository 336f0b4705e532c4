import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Client } from 'pg';

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

export interface BenchServer {
  baseUrl: string;
  /** The benchmark database, for worker processes of the same service. */
  databaseUrl: string;
  /** The server process's id (for RSS sampling). */
  pid: number;
  /** Vacuums and analyzes the benchmark database, as autovacuum would after a bulk load. */
  settle(): Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs` (default 30 s), then drops the database. */
  stop(graceMs?: number): Promise<void>;
}

export interface BenchServerOptions {
  /**
   * `api` (default): dist/apps/api/src/main.js, the API role alone. `all`: dist/apps/server/src/main.js with
   * LABELLOOP_ROLE=all, the API, trainer and scorer in one process (what `npm start` runs).
   */
  role?: 'api' | 'all';
  /** Append the process's stdout and stderr to this file instead of the benchmark's console. */
  logFile?: string;
  /** How long to wait for /health/ready (default 60 s). */
  readyTimeoutMs?: number;
}

const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Service processes started by the benchmarks and not yet stopped: killed if the benchmark exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Spawns a built service entry point (dist/) with `env` on top of the benchmark's environment, its output on
 * the console or appended to `logFile`. The child is SIGKILLed if the benchmark process exits before it.
 */
export function spawnService(
  entry: string,
  nodeArgs: string | undefined,
  env: Record<string, string>,
  logFile?: string,
): ChildProcess {
  const fd = logFile ? openSync(logFile, 'a') : undefined;
  try {
    const child = spawn(
      process.execPath,
      [...(nodeArgs ?? '').split(' ').filter(Boolean), join(__dirname, '../..', entry)],
      {
        env: { ...process.env, ...env },
        stdio: fd === undefined ? ['ignore', 'inherit', 'inherit'] : ['ignore', fd, fd],
      },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    return child;
  } finally {
    // The child has its own copy of the descriptor.
    if (fd !== undefined) closeSync(fd);
  }
}

/** Polls `url` until it answers 2xx; throws when the child exits or `timeoutMs` passes. */
export async function waitReady(child: ChildProcess, url: string, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(5_000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`bench ${what} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    if (Date.now() > deadline) throw new Error(`bench ${what} did not become ready in ${timeoutMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** SIGTERM (graceful shutdown), then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs the built service (dist/) as its own process, the way `npm start` does, on a
 * fresh database that is dropped afterwards. By default only the API role: workers would
 * compete for the two cores and are not what most of these benchmarks measure
 * (`options.role = 'all'` runs the whole service in the one process).
 */
export async function startBenchServer(
  port = 3900,
  env: Record<string, string> = {},
  options: BenchServerOptions = {},
): Promise<BenchServer> {
  const database = `labelloop_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const dropDatabase = async () => {
    const cleanup = new Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await cleanup.end();
  };
  const role = options.role ?? 'api';
  const child = spawnService(
    role === 'all' ? 'dist/apps/server/src/main.js' : 'dist/apps/api/src/main.js',
    process.env.BENCH_SERVER_NODE_ARGS,
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url.toString(),
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      LOG_LEVEL: 'warn',
      ...(role === 'all' ? { LABELLOOP_ROLE: 'all' } : {}),
      ...(process.env.BENCH_QUEUE ? { COLD_START_QUEUE_SIZE: process.env.BENCH_QUEUE } : {}),
      STORAGE_FS_ROOT: join(__dirname, '../../.data/bench-objects'),
      ...env,
    },
    options.logFile,
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitReady(child, `${baseUrl}/health/ready`, 'server', options.readyTimeoutMs);
  } catch (error) {
    await stopChild(child, 5_000);
    await dropDatabase();
    throw error;
  }
  return {
    baseUrl,
    databaseUrl: url.toString(),
    pid: child.pid!,
    settle: async () => {
      const client = new Client({ connectionString: url.toString() });
      await client.connect();
      await client.query('VACUUM (ANALYZE) items, tasks');
      await client.end();
    },
    stop: async (graceMs?: number) => {
      await stopChild(child, graceMs);
      await dropDatabase();
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
