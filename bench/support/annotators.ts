import { Client } from 'pg';
import { Pool } from 'undici';
import { keyedRequest } from './load';

/** An annotator loop that leased nothing waits this long before asking again (a labeling tool would poll). */
const EMPTY_LEASE_WAIT_MS = 100;
/** After a failed request a loop waits this long, so a failing service is not hammered in a tight loop. */
const ERROR_WAIT_MS = 50;

export interface AnnotatorLoopsOptions {
  baseUrl: string;
  projectId: string;
  /** One annotator key per loop. */
  keys: string[];
  /** Labels given in turn (what an annotator answers does not matter to a fault drill). */
  labels: readonly string[];
  /** Tasks leased per `tasks/next` call (default 10). */
  limit?: number;
  /** Client timeout per request (default 60 s): above any hang worth measuring. */
  requestTimeoutMs?: number;
}

/** An annotation answered 201: its id and when the answer arrived (epoch ms). */
export interface Ack {
  annotationId: string;
  at: number;
}

/** What the loops saw from start() to stop(). */
export interface AnnotatorTally {
  acks: Ack[];
  requests: number;
  /** Answers other than 2xx, network errors and client timeouts. */
  failedRequests: number;
  failedByKind: Record<string, number>;
  /** The slowest request, failed ones included with the time they took. */
  maxLatencyMs: number;
  emptyLeases: number;
}

/**
 * Annotator loops against one project until stopped: each leases `tasks/next?limit=n` with its own key, then
 * POSTs one annotation per leased task. Requests go through one undici pool with a connection per loop.
 */
export class AnnotatorLoops {
  private readonly pool: Pool;
  private readonly tally: AnnotatorTally = {
    acks: [],
    requests: 0,
    failedRequests: 0,
    failedByKind: {},
    maxLatencyMs: 0,
    emptyLeases: 0,
  };
  private stopping = false;
  private running?: Promise<void>;
  private given = 0;

  constructor(private readonly options: AnnotatorLoopsOptions) {
    const timeout = options.requestTimeoutMs ?? 60_000;
    this.pool = new Pool(options.baseUrl, {
      connections: options.keys.length,
      headersTimeout: timeout,
      bodyTimeout: timeout,
    });
  }

  start(): void {
    this.running = Promise.all(this.options.keys.map((key) => this.loop(key))).then(() => undefined);
  }

  /** Annotations acknowledged with `from <= at < to` (epoch ms), so far. */
  acksBetween(from: number, to: number): number {
    return this.tally.acks.filter((ack) => ack.at >= from && ack.at < to).length;
  }

  /** Lets every request in flight finish (at most the client timeout), then ends the loops. */
  async stop(): Promise<AnnotatorTally> {
    this.stopping = true;
    await this.running;
    await this.pool.close();
    return this.tally;
  }

  private fail(kind: string): void {
    this.tally.failedRequests++;
    this.tally.failedByKind[kind] = (this.tally.failedByKind[kind] ?? 0) + 1;
  }

  private async call(method: 'GET' | 'POST', path: string, key: string, body?: string) {
    const started = performance.now();
    this.tally.requests++;
    try {
      const response = await keyedRequest(this.pool, method, path, key, body);
      const text = await response.body.text();
      if (response.statusCode >= 300) this.fail(`http_${response.statusCode}`);
      return { status: response.statusCode, body: text };
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'unknown';
      this.fail(/TIMEOUT/.test(code) ? 'timeout' : `network_${code}`);
      return null;
    } finally {
      this.tally.maxLatencyMs = Math.max(this.tally.maxLatencyMs, performance.now() - started);
    }
  }

  private async loop(key: string): Promise<void> {
    const { projectId, labels, limit = 10 } = this.options;
    while (!this.stopping) {
      const leased = await this.call('GET', `/v1/projects/${projectId}/tasks/next?limit=${limit}`, key);
      if (leased?.status !== 200) {
        await sleep(ERROR_WAIT_MS);
        continue;
      }
      const tasks = (JSON.parse(leased.body) as { data: { id: string }[] }).data;
      if (tasks.length === 0) {
        this.tally.emptyLeases++;
        await sleep(EMPTY_LEASE_WAIT_MS);
        continue;
      }
      for (const task of tasks) {
        if (this.stopping) break;
        const label = labels[this.given++ % labels.length];
        const body = JSON.stringify({ label, leadTimeMs: 1500 });
        const done = await this.call('POST', `/v1/tasks/${task.id}/annotation`, key, body);
        if (done?.status === 201) {
          const { annotationId } = JSON.parse(done.body) as { annotationId: string };
          this.tally.acks.push({ annotationId, at: Date.now() });
        } else if (!done) {
          await sleep(ERROR_WAIT_MS);
        }
      }
    }
  }
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** How many of the acknowledged annotation ids are human annotations of the project in its database. */
export async function acknowledgedRows(
  databaseUrl: string,
  projectId: string,
  ids: string[],
): Promise<number> {
  const client = new Client({ connectionString: databaseUrl, application_name: 'labelloop-bench' });
  await client.connect();
  try {
    let found = 0;
    for (let i = 0; i < ids.length; i += 10_000) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM annotations
          WHERE id = ANY($1::uuid[]) AND project_id = $2 AND source = 'human'`,
        [ids.slice(i, i + 10_000), projectId],
      );
      found += rows[0].n;
    }
    return found;
  } finally {
    await client.end();
  }
}
