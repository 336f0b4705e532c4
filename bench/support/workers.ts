import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface BenchWorker {
  stop(): Promise<void>;
}

/**
 * Runs a worker role of the built service (dist/) as its own process, as its Deployment does in production,
 * against the benchmark server's database. `PORT` is its /health and /metrics listener; the rest of `env`
 * must match the API process (QUEUE_PREFIX, storage). BENCH_WORKER_NODE_ARGS adds Node flags (`--cpu-prof`).
 */
export async function startBenchWorker(
  role: 'trainer' | 'scorer',
  port: number,
  databaseUrl: string,
  env: Record<string, string>,
): Promise<BenchWorker> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      join(__dirname, `../../dist/apps/${role}/src/main.js`),
    ],
    {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 200 || child.exitCode !== null) throw new Error(`bench ${role} did not become ready`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    },
  };
}
