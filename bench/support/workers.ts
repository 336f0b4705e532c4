import { spawnService, stopChild, waitReady } from './server';

export interface BenchWorker {
  /** The worker process's id (for RSS sampling). */
  pid: number;
  /** SIGTERM (the running job finishes), SIGKILL after `graceMs` (default 30 s). */
  stop(graceMs?: number): Promise<void>;
}

export interface BenchWorkerOptions {
  /** Append the process's stdout and stderr to this file instead of the benchmark's console. */
  logFile?: string;
  /** How long to wait for /health/ready (default 60 s). */
  readyTimeoutMs?: number;
}

/**
 * Runs a worker role of the built service (dist/) as its own process, as its Deployment does in production,
 * against the benchmark server's database. `PORT` is its /health and /metrics listener; the rest of `env`
 * must match the API process (QUEUE_PREFIX, storage). BENCH_WORKER_NODE_ARGS adds Node flags (`--cpu-prof`).
 * The process is killed if the benchmark exits without stopping it.
 */
export async function startBenchWorker(
  role: 'trainer' | 'scorer',
  port: number,
  databaseUrl: string,
  env: Record<string, string>,
  options: BenchWorkerOptions = {},
): Promise<BenchWorker> {
  const child = spawnService(
    `dist/apps/${role}/src/main.js`,
    process.env.BENCH_WORKER_NODE_ARGS,
    { PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, ...env },
    options.logFile,
  );
  try {
    await waitReady(child, `http://127.0.0.1:${port}/health/ready`, role, options.readyTimeoutMs);
  } catch (error) {
    await stopChild(child, 5_000);
    throw error;
  }
  return { pid: child.pid!, stop: (graceMs?: number) => stopChild(child, graceMs) };
}
