import { spawn, type ChildProcess } from 'node:child_process';
import IORedis from 'ioredis';
import { freePort } from './ports';

/**
 * A redis-server of the benchmark's own, so a benchmark can kill, restart and flush the Redis of the service under
 * test without touching the machine's shared one. No persistence: a restart comes back empty, as the `npm start`
 * child and any Redis without AOF or RDB does.
 */
export interface BenchRedis {
  url: string;
  /** SIGKILL (no shutdown, no save); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
  flushAll(): Promise<void>;
  /** Kills it for good (also done if the benchmark exits first). */
  stop(): Promise<void>;
}

/** How long a fresh redis-server may take to answer PING. */
const START_TIMEOUT_MS = 10_000;

/** redis-servers started and not yet exited: killed if the benchmark exits first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** True when a Redis answers PING at `url` now (no retries). */
export async function answersPing(url: string): Promise<boolean> {
  const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

async function launch(port: number, url: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal})`)));
  });
  failed.catch(() => undefined);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await Promise.race([answersPing(url), failed]))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer in ${START_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  return child;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = await launch(port, url);
  const kill = async () => {
    if (!child) return;
    const dying = child;
    child = undefined;
    dying.kill('SIGKILL');
    await exited(dying);
  };
  return {
    url,
    kill,
    restart: async () => {
      await kill();
      child = await launch(port, url);
    },
    flushAll: async () => {
      const client = new IORedis(url, { maxRetriesPerRequest: 1 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    stop: kill,
  };
}
