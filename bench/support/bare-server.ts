import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Pool } from 'pg';
import { loadConfig } from '../../libs/config/src/config';
import { topUpQueue } from '../../libs/db/src/repositories/cold-start-queue';
import { ANNOTATE_SQL, LEASE_SQL } from '../../libs/db/src/repositories/tasks.repository';

/**
 * The floor for `bench:api`: the labeling hot path with nothing but Fastify and `pg` around the service's
 * own SQL (the lease and annotate statements of TasksRepository, as the same named prepared statements, and
 * its top-up of a short queue, on a pool of DATABASE_POOL_SIZE connections). The bearer check is one Map lookup of
 * the header (a key is looked up by its hash once, then remembered). No validation beyond what the SQL
 * needs, no guards, interceptors, metrics, logging or Redis.
 *
 * Run as its own process: `node -r @swc-node/register bench/support/bare-server.ts` with PORT and
 * DATABASE_URL, or through startBareServer().
 */

export interface BareServer {
  baseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns the bare server on the benchmark database. BENCH_BARE_NODE_ARGS adds Node flags (`--cpu-prof`). */
export async function startBareServer(
  port: number,
  databaseUrl: string,
  nodeArgs: string[] = (process.env.BENCH_BARE_NODE_ARGS ?? '').split(' ').filter(Boolean),
): Promise<BareServer> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '-r', '@swc-node/register', __filename], {
    cwd: join(__dirname, '../..'),
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300 || child.exitCode !== null) throw new Error('bare server did not become ready');
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    baseUrl,
    pid: child.pid as number,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((done) => child.once('exit', done));
    },
  };
}

interface Caller {
  keyId: string;
  name: string;
}

async function serve(): Promise<void> {
  const config = loadConfig();
  // The service's pool settings (libs/db createPool), under its own name so the benchmark can tell the
  // two servers' PostgreSQL backends apart.
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: config.database.poolSize,
    idleTimeoutMillis: 30_000,
    application_name: 'labelloop-bare',
    statement_timeout: config.database.statementTimeoutMs || undefined,
    idle_in_transaction_session_timeout: config.database.idleInTransactionTimeoutMs || undefined,
  });
  pool.on('error', () => undefined);
  const { leaseSeconds, coldStartQueueSize } = config.tasks;
  const callers = new Map<string, Caller>();

  async function authenticate(header: string | undefined): Promise<Caller | null> {
    if (header === undefined) return null;
    const known = callers.get(header);
    if (known) return known;
    if (!header.startsWith('Bearer ')) return null;
    const hash = createHash('sha256').update(header.slice(7)).digest('hex');
    const found = await pool.query(
      'SELECT id, name FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL AND role IN ($2, $3)',
      [hash, 'annotator', 'admin'],
    );
    if (found.rows.length === 0) return null;
    const caller = { keyId: found.rows[0].id as string, name: found.rows[0].name as string };
    callers.set(header, caller);
    return caller;
  }

  const lease = (
    projectId: string,
    owner: string,
    limit: number,
    holdout: number | null,
    refilled: boolean,
  ) =>
    pool.query({
      name: 'tasks.lease',
      text: LEASE_SQL,
      values: [projectId, owner, leaseSeconds, limit, holdout, refilled],
    });

  const app = Fastify({ logger: false });
  app.get('/health', async () => ({ status: 'ok' }));

  app.get<{ Params: { id: string }; Querystring: { limit?: string } }>(
    '/v1/projects/:id/tasks/next',
    async (request, reply) => {
      const caller = await authenticate(request.headers.authorization);
      if (!caller) return reply.code(401).send({ message: 'unknown API key' });
      const projectId = request.params.id;
      const limit = Number(request.query.limit ?? 1);
      let rows = (await lease(projectId, caller.keyId, limit, null, false)).rows;
      if (rows.length < limit) {
        // The service's top-up of a short queue (TasksRepository.topUpQueue), in the same transaction shape.
        const client = await pool.connect();
        let added = 0;
        try {
          await client.query('BEGIN');
          added = await topUpQueue(client, projectId, coldStartQueueSize);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
        if (added > 0) {
          // The holdout tasks the first lease was short of, then anything left (TasksService.next).
          const heldBack =
            rows.length === 0
              ? null
              : Math.max(0, rows[0].holdout_wanted - rows.filter((r) => r.holdout).length);
          rows = rows.concat(
            (await lease(projectId, caller.keyId, limit - rows.length, heldBack, true)).rows,
          );
        }
      }
      return {
        data: rows.map((row) => ({
          id: row.id,
          itemId: row.item_id,
          externalId: row.external_id,
          payload: row.payload,
          objectKey: row.object_key,
          metadata: row.metadata,
          priority: row.priority,
          preLabel: row.pre_label === null ? null : { label: row.pre_label, probability: row.pre_label_prob },
          leaseExpiresAt: row.lease_expires_at,
        })),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: { label?: unknown; leadTimeMs?: unknown } }>(
    '/v1/tasks/:id/annotation',
    async (request, reply) => {
      const caller = await authenticate(request.headers.authorization);
      if (!caller) return reply.code(401).send({ message: 'unknown API key' });
      const { label, leadTimeMs } = request.body ?? {};
      if (typeof label !== 'string') return reply.code(400).send({ message: 'label: required' });
      const taskId = request.params.id;
      const result = await pool.query({
        name: 'tasks.annotate',
        text: ANNOTATE_SQL,
        values: [
          taskId,
          caller.keyId,
          label,
          caller.name,
          typeof leadTimeMs === 'number' ? leadTimeMs : null,
          null,
        ],
      });
      const row = result.rows[0];
      if (!row) return reply.code(409).send({ message: `task ${taskId} is not leased to this API key` });
      return reply.code(201).send({
        annotationId: row.id,
        taskId,
        itemId: row.item_id,
        label,
        seq: row.seq,
        createdAt: row.created_at,
      });
    },
  );

  await app.listen({ port: Number(process.env.PORT ?? 3903), host: process.env.HOST ?? '127.0.0.1' });
  const stop = async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

if (require.main === module) {
  serve().catch((error: Error) => {
    process.stderr.write(`bare server failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
