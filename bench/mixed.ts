import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type Job, Queue, QueueEvents } from 'bullmq';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { Pool } from 'undici';
import { writeResult } from './support/results';
import { api, importNdjson, startBenchServer, type BenchServer } from './support/server';
import { startBenchWorker, type BenchWorker } from './support/workers';
import { keyedRequest, percentile, round } from './support/load';
import { freePort } from './support/ports';
import { isAlive, treeRss } from './support/processes';

// `npm run bench:mixed`: labeling while the loop retrains continuously. 16 annotator loops (tasks/next?limit=10,
// then one annotation per task with the true label) against a 50,000-item text project with retrainThreshold
// 50, for 5 minutes, with the service as one process (`all`) and as three (`split`: api, trainer, scorer), and
// the same loops against the API role alone (`api_only`, no workers: what bench:api measures) for the ratio.
// A /health/live probe per process every second, RSS per process every second, job outcomes from Redis.
// Every mode runs on its own database, queue prefix and object directory; process logs go to files.

const env = process.env;
const SECONDS = Number(env.BENCH_MIXED_SECONDS ?? 300);
const API_SECONDS = Number(env.BENCH_MIXED_API_SECONDS ?? Math.min(60, SECONDS));
const ITEMS = Number(env.BENCH_MIXED_ITEMS ?? 50_000);
/**
 * Keep the unlabeled pool at about ITEMS during the phase: each TOPUP_CHUNK labels acknowledged, TOPUP_CHUNK fresh
 * items are imported (one NDJSON request, as new data arriving), so 16 loops at the target rate (400/s for 300 s:
 * 120,000 labels) never run a 50,000-item pool dry. BENCH_MIXED_TOPUP=0 imports nothing after the start.
 */
const TOPUP = env.BENCH_MIXED_TOPUP !== '0';
const TOPUP_CHUNK = Number(env.BENCH_MIXED_TOPUP_CHUNK ?? 2000);
/** After the labeling phase, how long to keep watching for the last labels' rankings (no load meanwhile). */
const DRAIN_SECONDS = Number(env.BENCH_MIXED_DRAIN_SECONDS ?? 60);
const MODES = (env.BENCH_MIXED_MODES ?? 'api_only,all,split').split(',') as Mode[];
const RESULT = env.BENCH_MIXED_RESULT ?? 'mixed';
const LOG_LEVEL = env.BENCH_MIXED_LOG_LEVEL ?? 'warn';
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const LOOPS = 16;
const LIMIT = 10;
const RETRAIN_THRESHOLD = 50;
/** Every SAMPLE_EVERY-th acknowledged annotation is followed until a ranking that includes it is served. */
const SAMPLE_EVERY = 50;
const REQUEST_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 5_000;
/** An annotator loop that leased nothing waits this long before asking again (a labeling tool would poll). */
const EMPTY_LEASE_WAIT_MS = 100;
/** After a failed request a loop waits this long, so a failing service is not hammered in a tight loop. */
const ERROR_WAIT_MS = 50;
/** A loop past the deadline stops annotating the rest of its batch after this long (bounds the run). */
const BATCH_GRACE_MS = 15_000;
const QUEUES = ['training', 'scoring', 'suspects'] as const;
/**
 * The scoring queue's job that ranks the whole unlabeled pool with the promoted model and rewrites the queue (the
 * README's `score`); other job names of that queue (an incremental pass over new items) do not re-rank the queue.
 */
const RANKING_JOB = 'score';
const LABELS = ['spam', 'ham'] as const;

const TARGETS = {
  labels_per_s: '>= 400',
  p99_ms: '<= 150',
  health_live_max_ms: '<= 200',
  errors: '0',
  jobs_stalled: '0',
  jobs_failed: '0',
  lost_annotations: '0',
  label_to_queue_p50_s: '<= 30',
};

type Mode = 'api_only' | 'all' | 'split';
type ProcessName = 'all' | 'api' | 'trainer' | 'scorer';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------------------------
// Data: synthetic sentences whose words depend on the true label, so a model learns and its ranking means something.

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = 'ka lo mi ne su ta ri po ve da fu gi ho ju be zo'.split(' ');

/**
 * Texts of 8-17 pseudo-words: ~22 % from a 150-word vocabulary of the true label, ~6 % from the other label's,
 * the rest from 2,700 shared words. Deterministic (seeded); `truth` gets each item's label as it is made.
 */
class TextSource {
  private readonly random: () => number;
  private readonly neutral: string[];
  private readonly indicative: string[][];
  /** Items made so far (the next external id). */
  made = 0;

  constructor(
    readonly truth: Map<string, string>,
    seed: number,
  ) {
    this.random = mulberry32(seed);
    const word = () =>
      Array.from(
        { length: 2 + Math.floor(this.random() * 2) },
        () => SYLLABLES[Math.floor(this.random() * 16)],
      ).join('');
    this.neutral = Array.from({ length: 2700 }, word);
    this.indicative = LABELS.map(() => Array.from({ length: 150 }, word));
  }

  /** `count` more items as NDJSON, in chunks of 500 lines (as a file upload would send them). */
  *ndjson(count: number): Generator<string> {
    const pick = (list: string[]) => list[Math.floor(this.random() * list.length)];
    let chunk = '';
    for (let n = 0; n < count; n++) {
      const label = this.random() < 0.5 ? 0 : 1;
      const words: string[] = [];
      for (let w = 8 + Math.floor(this.random() * 10); w > 0; w--) {
        const r = this.random();
        words.push(
          r < 0.22
            ? pick(this.indicative[label])
            : r < 0.28
              ? pick(this.indicative[1 - label])
              : pick(this.neutral),
        );
      }
      const externalId = `m-${this.made++}`;
      this.truth.set(externalId, LABELS[label]);
      chunk += `${JSON.stringify({ externalId, text: words.join(' ') })}\n`;
      if ((n + 1) % 500 === 0 || n === count - 1) {
        yield chunk;
        chunk = '';
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Probes and samplers

interface ProbeSample {
  at: number;
  ms: number;
  ok: boolean;
}

/** GET /health/live every second on its own connections (never queued behind the annotators' requests). */
class LiveProbe {
  readonly samples: ProbeSample[] = [];
  private readonly pool: Pool;
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(port: number) {
    this.pool = new Pool(`http://127.0.0.1:${port}`, {
      connections: 4,
      headersTimeout: PROBE_TIMEOUT_MS,
      bodyTimeout: PROBE_TIMEOUT_MS,
    });
  }

  start(): void {
    this.timer = setInterval(() => {
      const probe = this.probe();
      this.inFlight.add(probe);
      void probe.finally(() => this.inFlight.delete(probe));
    }, 1000);
  }

  private async probe(): Promise<void> {
    const at = Date.now();
    const started = performance.now();
    let ok = false;
    try {
      const response = await this.pool.request({ method: 'GET', path: '/health/live' });
      await response.body.text();
      ok = response.statusCode === 200;
    } catch {
      ok = false;
    }
    // A probe that fails or times out counts with its elapsed time, at most the timeout.
    this.samples.push({ at, ms: Math.min(performance.now() - started, PROBE_TIMEOUT_MS), ok });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(PROBE_TIMEOUT_MS + 1000)]);
    await this.pool.destroy();
  }

  /** Probes sent in [from, to] (epoch ms). */
  summary(from: number, to: number) {
    const window = this.samples.filter((s) => s.at >= from && s.at <= to);
    const sorted = window.map((s) => s.ms).sort((a, b) => a - b);
    return {
      probes: window.length,
      failures: window.filter((s) => !s.ok).length,
      max_ms: sorted.length ? round(sorted[sorted.length - 1]) : null,
      p99_ms: sorted.length ? round(percentile(sorted, 99)) : null,
      p50_ms: sorted.length ? round(percentile(sorted, 50)) : null,
    };
  }
}

class RssSampler {
  readonly maxKb = new Map<ProcessName, number>();
  /** Most processes seen in each tree (the process itself plus compute child processes, if any). */
  readonly maxProcesses = new Map<ProcessName, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: Map<ProcessName, number>) {}

  start(): void {
    const sample = () => {
      for (const [name, pid] of this.pids) {
        const { kb, processes } = treeRss(pid);
        this.maxKb.set(name, Math.max(this.maxKb.get(name) ?? 0, kb));
        this.maxProcesses.set(name, Math.max(this.maxProcesses.get(name) ?? 0, processes));
      }
    };
    sample();
    this.timer = setInterval(sample, 1000);
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    return Object.fromEntries([...this.maxKb].map(([name, kb]) => [name, Math.round(kb / 1024)]));
  }
}

/** BullMQ events of the mode's queues, read live from Redis from before the first label on. */
class JobEvents {
  readonly counts: Record<string, { stalled: number; failed: number; retriesExhausted: number }> = {};
  private readonly readers: QueueEvents[] = [];

  async start(prefix: string): Promise<void> {
    for (const name of QUEUES) {
      const counts = { stalled: 0, failed: 0, retriesExhausted: 0 };
      this.counts[name] = counts;
      const events = new QueueEvents(name, { connection: { url: REDIS_URL }, prefix });
      events.on('stalled', () => counts.stalled++);
      events.on('failed', () => counts.failed++);
      events.on('retries-exhausted', () => counts.retriesExhausted++);
      events.on('error', (error) => process.stderr.write(`queue events (${name}): ${error.message}\n`));
      this.readers.push(events);
      await events.waitUntilReady();
    }
    // The first XREAD (from `$`) is issued right after the connection is ready.
    await sleep(300);
  }

  async stop(): Promise<void> {
    await Promise.all(this.readers.map((events) => events.close().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load

interface Sample {
  seq: bigint;
  /** When the 201 came back (epoch ms). */
  at: number;
}

interface LoadResult {
  seconds: number;
  startedAt: number;
  endedAt: number;
  acks: number;
  annotationIds: string[];
  samples: Sample[];
  latencies: Float64Array;
  requests: number;
  errors: number;
  errorsByKind: Record<string, number>;
  emptyLeases: number;
  topUps: { imports: number; items: number; failed: number; max_ms: number };
}

async function annotate(
  baseUrl: string,
  projectId: string,
  keys: string[],
  source: TextSource,
  seconds: number,
): Promise<LoadResult> {
  const truth = source.truth;
  const pool = new Pool(baseUrl, {
    connections: LOOPS,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  let latencies = new Float64Array(1 << 16);
  let requests = 0;
  let errors = 0;
  const errorsByKind: Record<string, number> = {};
  const annotationIds: string[] = [];
  const samples: Sample[] = [];
  let emptyLeases = 0;
  const fail = (kind: string) => {
    errors++;
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
  };
  const record = (ms: number) => {
    if (requests === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[requests++] = ms;
  };
  const call = async (method: 'GET' | 'POST', path: string, key: string, body?: string) => {
    const started = performance.now();
    try {
      const response = await keyedRequest(pool, method, path, key, body);
      const text = await response.body.text();
      record(performance.now() - started);
      if (response.statusCode >= 300) fail(`http_${response.statusCode}`);
      return { status: response.statusCode, body: text };
    } catch (error) {
      // Failed requests count in the latencies with the time they took (at most the client timeout).
      record(performance.now() - started);
      const code = (error as { code?: string }).code ?? 'unknown';
      fail(/TIMEOUT/.test(code) ? 'timeout' : `network_${code}`);
      return null;
    }
  };

  const startedAt = Date.now();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const topUps = { imports: 0, items: 0, failed: 0, max_ms: 0 };
  let loopsRunning = keys.length;
  // The top-up importer: its requests are not annotators' requests (not in p99_ms or errors; see topUps).
  const importer = (async () => {
    if (!TOPUP) return;
    while (loopsRunning > 0 && performance.now() < deadline) {
      if (annotationIds.length < topUps.items + TOPUP_CHUNK) {
        await sleep(200);
        continue;
      }
      const importStarted = performance.now();
      try {
        const response = await importNdjson(baseUrl, projectId, source.ndjson(TOPUP_CHUNK));
        await response.text();
        if (!response.ok) topUps.failed++;
      } catch {
        topUps.failed++;
      }
      topUps.imports++;
      topUps.items += TOPUP_CHUNK;
      topUps.max_ms = Math.max(topUps.max_ms, round(performance.now() - importStarted));
    }
  })();
  await Promise.all(
    keys.map(async (key) => {
      while (performance.now() < deadline) {
        const leased = await call('GET', `/v1/projects/${projectId}/tasks/next?limit=${LIMIT}`, key);
        if (!leased || leased.status !== 200) {
          await sleep(ERROR_WAIT_MS);
          continue;
        }
        const tasks = (JSON.parse(leased.body) as { data: { id: string; externalId: string }[] }).data;
        if (tasks.length === 0) {
          emptyLeases++;
          await sleep(EMPTY_LEASE_WAIT_MS);
          continue;
        }
        for (const task of tasks) {
          if (performance.now() > deadline + BATCH_GRACE_MS) break;
          const label = truth.get(task.externalId);
          if (!label) throw new Error(`leased an unknown item ${task.externalId}`);
          const body = JSON.stringify({ label, leadTimeMs: 1500 });
          const done = await call('POST', `/v1/tasks/${task.id}/annotation`, key, body);
          if (done?.status !== 201) {
            if (!done) await sleep(ERROR_WAIT_MS);
            continue;
          }
          const written = JSON.parse(done.body) as { annotationId: string; seq: string };
          annotationIds.push(written.annotationId);
          if (annotationIds.length % SAMPLE_EVERY === 0)
            samples.push({ seq: BigInt(written.seq), at: Date.now() });
        }
      }
      loopsRunning--;
    }),
  );
  const endedAt = Date.now();
  const elapsed = (performance.now() - started) / 1000;
  await importer;
  await pool.close();
  return {
    seconds: elapsed,
    startedAt,
    endedAt,
    acks: annotationIds.length,
    annotationIds,
    samples,
    latencies: latencies.slice(0, requests).sort(),
    requests,
    errors,
    errorsByKind,
    emptyLeases,
    topUps,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// What the service recorded

interface JobRecord {
  queue: string;
  state: string;
  job: Job;
  /** An active job whose lock has expired: stalled, though the workers' next stalled check has not run yet. */
  lockLost?: boolean;
}

async function jobRecords(prefix: string, projectId: string): Promise<JobRecord[]> {
  const records: JobRecord[] = [];
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    for (const name of QUEUES) {
      const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix });
      try {
        for (const state of ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'] as const) {
          for (const job of await queue.getJobs([state], 0, -1)) {
            if (job?.data?.projectId !== projectId) continue;
            const lockLost =
              state === 'active' && (await redis.exists(`${prefix}:${name}:${job.id}:lock`)) === 0;
            records.push({ queue: name, state, job, lockLost });
          }
        }
      } finally {
        await queue.close();
      }
    }
  } finally {
    redis.disconnect();
  }
  return records;
}

/** Dataset-version watermark of each trained model of the project (read from the mode's database). */
async function modelWatermarks(databaseUrl: string, projectId: string): Promise<Map<string, bigint>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; watermark: string }>(
      `SELECT m.id, d.watermark::text AS watermark
         FROM model_versions m JOIN dataset_versions d ON d.id = m.dataset_version_id
        WHERE m.project_id = $1`,
      [projectId],
    );
    return new Map(rows.map((r) => [r.id, BigInt(r.watermark)]));
  } finally {
    await client.end();
  }
}

/** Completed scorings that ranked the queue with a model: when (finishedOn) and that model's watermark. */
function servedRankings(records: JobRecord[], watermarks: Map<string, bigint>) {
  const rankings: { finishedOn: number; watermark: bigint }[] = [];
  for (const { queue, state, job } of records) {
    if (queue !== 'scoring' || job.name !== RANKING_JOB || state !== 'completed' || !job.finishedOn) continue;
    const modelVersionId = (job.returnvalue as { modelVersionId?: string | null } | null)?.modelVersionId;
    const watermark = modelVersionId ? watermarks.get(modelVersionId) : undefined;
    if (watermark !== undefined) rankings.push({ finishedOn: job.finishedOn, watermark });
  }
  return rankings;
}

/** For each sample: seconds from its 201 to the first completed scoring whose model's dataset includes it. */
function labelToQueue(samples: Sample[], rankings: { finishedOn: number; watermark: bigint }[]) {
  return samples.map((sample) => {
    let first = Infinity;
    for (const r of rankings) if (r.watermark >= sample.seq && r.finishedOn < first) first = r.finishedOn;
    return first === Infinity ? null : { seconds: Math.max(0, first - sample.at) / 1000, servedAt: first };
  });
}

async function annotationCounts(databaseUrl: string, projectId: string, ids: string[]) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM annotations WHERE project_id = $1 AND source = 'human'`,
      [projectId],
    );
    let found = 0;
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM annotations
          WHERE id = ANY($1::uuid[]) AND project_id = $2 AND source = 'human'`,
        [ids.slice(i, i + 10_000), projectId],
      );
      found += chunk.rows[0].n;
    }
    const unlabeled = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items WHERE project_id = $1 AND label IS NULL`,
      [projectId],
    );
    return { rows: rows.rows[0].n, found, unlabeledItems: unlabeled.rows[0].n };
  } finally {
    await client.end();
  }
}

/** `job_duration_seconds_count{queue, outcome}` of a process's /metrics (attempts its workers finished). */
async function metricJobCounts(port: number): Promise<Record<string, number> | string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    const counts: Record<string, number> = {};
    for (const match of text.matchAll(/^job_duration_seconds_count\{([^}]*)\} (\d+)/gm)) {
      const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      counts[`${labels.queue}_${labels.outcome}`] = Number(match[2]);
    }
    return counts;
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
}

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Removes every Redis key of the mode's prefix (queues, deduplication keys, the retrain counter). */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One mode

/** Stops what a mode started; also run by the watchdog and on SIGINT/SIGTERM. */
const cleanups = new Set<(graceMs?: number) => Promise<void>>();

async function runMode(mode: Mode, runDir: string) {
  const dir = join(runDir, mode);
  mkdirSync(join(dir, 'objects'), { recursive: true });
  const prefix = `{labelloop-mixed-${randomBytes(4).toString('hex')}-${mode}}`;
  const logs: Record<string, string> = {};
  const processEnv: Record<string, string> = {
    QUEUE_PREFIX: prefix,
    REDIS_URL,
    LOG_LEVEL: LOG_LEVEL,
    SHUTDOWN_DELAY_MS: '0',
    STORAGE_FS_ROOT: join(dir, 'objects'),
    ...(env.ML_BACKEND ? { ML_BACKEND: env.ML_BACKEND } : {}),
    ...(env.BENCH_QUEUE ? { COLD_START_QUEUE_SIZE: env.BENCH_QUEUE } : {}),
  };
  const serverName: ProcessName = mode === 'all' ? 'all' : 'api';
  const ports = new Map<ProcessName, number>([[serverName, await freePort()]]);
  logs[serverName] = join(dir, `${serverName}.log`);

  let server: BenchServer | undefined;
  const workers: BenchWorker[] = [];
  const probes = new Map<ProcessName, LiveProbe>();
  let events: JobEvents | undefined;
  let stopped = false;
  /** `graceMs`: how long a process may take to shut down gracefully before it is killed. */
  const stopAll = async (graceMs = 30_000) => {
    if (stopped) return;
    stopped = true;
    await Promise.all([events?.stop(), ...[...probes.values()].map((probe) => probe.stop())]);
    await Promise.all(workers.map((worker) => worker.stop(graceMs).catch(() => undefined)));
    await server
      ?.stop(graceMs)
      .catch((error: Error) => process.stderr.write(`stop ${mode}: ${error.message}\n`));
    await dropPrefix(prefix).catch(() => undefined);
    rmSync(join(dir, 'objects'), { recursive: true, force: true });
  };
  cleanups.add(stopAll);
  try {
    process.stdout.write(`[${mode}] starting (logs in ${dir})\n`);
    server = await startBenchServer(ports.get(serverName)!, processEnv, {
      role: mode === 'all' ? 'all' : 'api',
      logFile: logs[serverName],
    });
    const pids = new Map<ProcessName, number>([[serverName, server.pid]]);
    const baseUrl = server.baseUrl;
    const project = await api(baseUrl, 'POST', '/v1/projects', {
      name: `mixed-${mode}`,
      inputKind: 'text',
      labels: [...LABELS],
      acquisitionSpec: { retrainThreshold: RETRAIN_THRESHOLD },
    });
    const projectId = project.id;
    const source = new TextSource(new Map(), 17);
    const importStarted = performance.now();
    const imported = await importNdjson(baseUrl, projectId, source.ndjson(ITEMS));
    if (!imported.ok) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
    await server.settle();
    const importSeconds = (performance.now() - importStarted) / 1000;
    const keys: string[] = [];
    for (let i = 0; i < LOOPS; i++) {
      const created = await api(baseUrl, 'POST', '/v1/api-keys', {
        name: `annotator-${i}`,
        role: 'annotator',
        projectId,
      });
      keys.push(created.key);
    }

    if (mode !== 'api_only') {
      events = new JobEvents();
      await events.start(prefix);
    }
    if (mode === 'split') {
      for (const role of ['trainer', 'scorer'] as const) {
        const port = await freePort();
        logs[role] = join(dir, `${role}.log`);
        const worker = await startBenchWorker(role, port, server.databaseUrl, processEnv, {
          logFile: logs[role],
        });
        workers.push(worker);
        ports.set(role, port);
        pids.set(role, worker.pid);
      }
    }
    for (const [name, port] of ports) probes.set(name, new LiveProbe(port));
    const rss = new RssSampler(pids);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    rss.start();
    for (const probe of probes.values()) probe.start();
    loopDelay.enable();

    const seconds = mode === 'api_only' ? API_SECONDS : SECONDS;
    process.stdout.write(
      `[${mode}] ${ITEMS} items imported in ${round(importSeconds)} s; labeling ${seconds} s\n`,
    );
    const load = await annotate(baseUrl, projectId, keys, source, seconds);
    loopDelay.disable();

    // Drain: no more labels; wait until every sampled label has been ranked by a model that saw it, or until
    // the training and scoring queues are idle (nothing more will come), or DRAIN_SECONDS.
    let records: JobRecord[] = [];
    let watermarks = new Map<string, bigint>();
    let drainSeconds = 0;
    if (mode !== 'api_only') {
      const drainStart = performance.now();
      let idleChecks = 0;
      for (;;) {
        records = await jobRecords(prefix, projectId);
        watermarks = await modelWatermarks(server.databaseUrl, projectId);
        const served = labelToQueue(load.samples, servedRankings(records, watermarks));
        const pending = records.some(
          (r) =>
            (r.queue === 'training' || r.queue === 'scoring') &&
            r.state !== 'completed' &&
            r.state !== 'failed',
        );
        idleChecks = pending ? 0 : idleChecks + 1;
        drainSeconds = (performance.now() - drainStart) / 1000;
        if (served.every(Boolean) || idleChecks >= 3 || drainSeconds >= DRAIN_SECONDS) break;
        await sleep(1000);
      }
    }
    const snapshotAt = Date.now();
    const rssMb = rss.stop();
    // A process that died under the load shows here (and in the probes' failures and the errors).
    const aliveAtEnd = Object.fromEntries([...pids].map(([name, pid]) => [name, isAlive(pid)]));
    for (const probe of probes.values()) await probe.stop();
    if (events) {
      await events.stop();
      // The job records as of the moment the event count ends.
      records = await jobRecords(prefix, projectId);
      watermarks = await modelWatermarks(server.databaseUrl, projectId);
    }
    const metrics: Record<string, Record<string, number> | string> = {};
    for (const [name, port] of ports) metrics[name] = await metricJobCounts(port);
    const annotations = await annotationCounts(server.databaseUrl, projectId, load.annotationIds);
    if (annotations.unlabeledItems < LOOPS * LIMIT)
      process.stdout.write(
        `[${mode}] warning: the pool ran out of unlabeled items; labels_per_s is bounded by it\n`,
      );

    const health = Object.fromEntries(
      [...probes].map(([name, probe]) => [name, probe.summary(load.startedAt, load.endedAt)]),
    );
    const healthMax = Math.max(...Object.values(health).map((h) => h.max_ms ?? Infinity));
    const common = {
      labels_per_s: Math.round(load.acks / load.seconds),
      p99_ms: round(percentile(load.latencies, 99)),
    };
    const loadDetail = {
      seconds: round(load.seconds),
      labels: load.acks,
      requests: load.requests,
      p50_ms: round(percentile(load.latencies, 50)),
      max_ms: round(load.latencies[load.latencies.length - 1] ?? NaN),
      errors_by_kind: load.errorsByKind,
      empty_leases: load.emptyLeases,
      top_up_imports: load.topUps,
      health_live: health,
      client_event_loop_delay_max_ms: round(loopDelay.max / 1e6),
      client_event_loop_delay_p99_ms: round(loopDelay.percentile(99) / 1e6),
      rss_process_tree_max: Object.fromEntries(rss.maxProcesses),
      alive_at_end: aliveAtEnd,
      import_seconds: round(importSeconds),
      // Near 0 the pool ran out and bounded labels_per_s.
      unlabeled_items_left: annotations.unlabeledItems,
      // Relative to the run's temporary directory (printed at the start): no machine path in the result.
      logs: Object.fromEntries(Object.entries(logs).map(([name, file]) => [name, relative(runDir, file)])),
    };
    if (mode === 'api_only') {
      return { ...common, errors: load.errors, detail: { ...loadDetail, rss_mb_max: rssMb } };
    }

    // Jobs. Completed counts are those finished during the labeling phase; failures and stalls are counted
    // up to the end of the drain.
    const inPhase = (job: Job) =>
      !!job.finishedOn && job.finishedOn >= load.startedAt && job.finishedOn <= load.endedAt;
    const jobs = Object.fromEntries(
      QUEUES.map((queue) => {
        const mine = records.filter((r) => r.queue === queue);
        const failedAttempts = mine.reduce(
          (sum, r) => sum + Math.max(0, r.job.attemptsMade - (r.state === 'completed' ? 1 : 0)),
          0,
        );
        const metricFailed = Object.values(metrics).reduce<number>(
          (sum, m) => sum + (typeof m === 'string' ? 0 : (m[`${queue}_failed`] ?? 0)),
          0,
        );
        return [
          queue,
          {
            completed_in_phase: mine.filter(
              (r) =>
                r.state === 'completed' &&
                inPhase(r.job) &&
                (queue !== 'scoring' || r.job.name === RANKING_JOB),
            ).length,
            completed_in_phase_by_name: countBy(
              mine.filter((r) => r.state === 'completed' && inPhase(r.job)).map((r) => r.job.name),
            ),
            completed_total: mine.filter((r) => r.state === 'completed').length,
            failed_final: mine.filter((r) => r.state === 'failed').length,
            failed_attempts: failedAttempts,
            failed_attempts_metrics: metricFailed,
            failed_events: events!.counts[queue].failed,
            stalled_events: events!.counts[queue].stalled,
            stalled_counter: mine.reduce((sum, r) => sum + (r.job.stalledCounter ?? 0), 0),
            active_lock_lost: mine.filter((r) => r.lockLost).length,
            unfinished_at_end: Object.fromEntries(
              ['active', 'waiting', 'delayed', 'prioritized'].map((s) => [
                s,
                mine.filter((r) => r.state === s).length,
              ]),
            ),
            failed_reasons: [...new Set(mine.map((r) => r.job.failedReason).filter(Boolean))].slice(0, 5),
          },
        ];
      }),
    );
    const all = Object.values(jobs);
    const jobsFailed = all.reduce(
      (sum, j) => sum + Math.max(j.failed_attempts, j.failed_attempts_metrics, j.failed_events),
      0,
    );
    const jobsStalled = all.reduce(
      (sum, j) => sum + Math.max(j.stalled_events, j.stalled_counter) + j.active_lock_lost,
      0,
    );

    const served = labelToQueue(load.samples, servedRankings(records, watermarks));
    const servedSeconds = served
      .filter((s): s is { seconds: number; servedAt: number } => s !== null)
      .map((s) => s.seconds)
      .sort((a, b) => a - b);
    // Unserved samples count as infinitely late: the median is known only while it falls among the served.
    const medianIndex = Math.floor(0.5 * served.length);
    const p50 = medianIndex < servedSeconds.length ? round(servedSeconds[medianIndex], 2) : null;

    return {
      ...common,
      errors: load.errors,
      health_live_max_ms: Number.isFinite(healthMax) ? healthMax : null,
      trainings_completed: jobs.training.completed_in_phase,
      scorings_completed: jobs.scoring.completed_in_phase,
      jobs_stalled: jobsStalled,
      jobs_failed: jobsFailed,
      lost_annotations: Math.max(0, load.acks - annotations.found),
      label_to_queue_p50_s: p50,
      rss_mb_max: rssMb,
      detail: {
        ...loadDetail,
        annotations: {
          acknowledged: load.acks,
          acknowledged_found: annotations.found,
          human_rows: annotations.rows,
          rows_without_ack: Math.max(0, annotations.rows - annotations.found),
        },
        label_to_queue: {
          samples: served.length,
          served: servedSeconds.length,
          unserved: served.length - servedSeconds.length,
          served_after_phase: served.filter((s) => s && s.servedAt > load.endedAt).length,
          p90_s: servedSeconds.length ? round(percentile(servedSeconds, 90), 2) : null,
          max_s: servedSeconds.length ? round(servedSeconds[servedSeconds.length - 1], 2) : null,
        },
        models_trained: watermarks.size,
        drain_seconds: round(drainSeconds),
        snapshot_after_phase_s: round((snapshotAt - load.endedAt) / 1000),
        jobs,
        metrics_job_counts: metrics,
      },
    };
  } finally {
    await stopAll();
    cleanups.delete(stopAll);
  }
}

// ---------------------------------------------------------------------------------------------------------------

const PROTOCOL = [
  `Data: ${ITEMS} synthetic English-like text items (8-17 pseudo-words; ~22 % of the words from a 150-word vocabulary of the true label, ~6 % from the other label's, the rest from 2,700 shared words), labels spam/ham, imported over NDJSON, then VACUUM ANALYZE; ${TOPUP ? `during the phase each ${TOPUP_CHUNK} acknowledged labels ${TOPUP_CHUNK} fresh items of the same kind are imported (one NDJSON request by one importer beside the loops, not counted in the loops' latencies or errors; detail.top_up_imports), so the unlabeled pool stays at about ${ITEMS} items and 16 loops at the target rate do not run it dry` : 'no items are added during the phase'}; project acquisitionSpec.retrainThreshold=${RETRAIN_THRESHOLD}, other specs and holdoutFraction (0.1) default.`,
  `Load: ${LOOPS} annotator loops, one project-scoped annotator key each, undici Pool (${LOOPS} connections, ${REQUEST_TIMEOUT_MS / 1000} s timeout) on 127.0.0.1; a loop leases GET tasks/next?limit=${LIMIT} and POSTs /v1/tasks/:id/annotation {label: true label, leadTimeMs} for each task; an empty lease waits ${EMPTY_LEASE_WAIT_MS} ms, a failed request ${ERROR_WAIT_MS} ms. Phase: ${SECONDS} s (api_only ${API_SECONDS} s); loops finish their leased batch after the deadline (at most ${BATCH_GRACE_MS / 1000} s more).`,
  'labels_per_s: annotations answered 201 / seconds from the start until the last loop ended. p99_ms: 99th percentile over every request (leases, annotations, empty leases, failed ones with the time they took). errors: non-2xx answers (409 included) + network errors + client timeouts; detail.errors_by_kind splits them.',
  `Modes: api_only = API role alone (dist/apps/api), no workers (trainings are enqueued, nobody runs them): the bench:api protocol (limit 10) in this script; all = one process, LABELLOOP_ROLE=all (dist/apps/server); split = api, trainer and scorer processes. Each mode: fresh database, own QUEUE_PREFIX, own STORAGE_FS_ROOT (fs) in a temp dir; PostgreSQL, Redis and this load generator on the same machine; LOG_LEVEL=${LOG_LEVEL}, process output to log files.`,
  `health_live_max_ms: GET /health/live every second on each process of the mode (own connections, ${PROBE_TIMEOUT_MS / 1000} s timeout; a failed or timed-out probe counts with its elapsed time capped at the timeout and is counted in detail.health_live.<process>.failures), max over probes sent during the labeling phase and over the processes.`,
  `trainings_completed / scorings_completed: completed jobs of the project in the training queue / completed "${RANKING_JOB}" jobs (full pool pass that rewrites the queue) in the scoring queue (read from Redis with bullmq Queue.getJobs; completed jobs are kept a week) whose finishedOn is within the labeling phase; detail.jobs.<queue>.completed_in_phase_by_name counts every job name.`,
  'jobs_failed: failed attempts over the training, scoring and suspects queues up to the end of the drain: per queue the largest of (a) sum over the jobs in Redis of attemptsMade minus 1 for completed jobs (a retried attempt counts), (b) job_duration_seconds_count{outcome="failed"} of the /metrics of every process of the mode, (c) BullMQ "failed" events (final failures) read live with QueueEvents.',
  "jobs_stalled: per queue the larger of BullMQ \"stalled\" events read live from the mode's event streams with QueueEvents (from before the first label to the end of the drain) and the sum of the jobs' stalledCounter in Redis, plus the jobs still active at the end whose lock key has expired (stalled, but the workers' stalled check, every JOB_LOCK_SECONDS, has not run yet); the service logs no stall lines, so logs are not used.",
  "lost_annotations: annotation ids answered 201 that are not in the annotations table (project, source human) at the end; detail.annotations also gives the table's human row count and rows without an acknowledgement (e.g. a request that timed out on the client).",
  `label_to_queue_p50_s: every ${SAMPLE_EVERY}th acknowledged annotation is a sample (its seq and the time its 201 arrived); its time is from that arrival to the finishedOn of the first completed "${RANKING_JOB}" job of the scoring queue (the queue rewrite commits just before it finishes) whose returnvalue.modelVersionId is a model whose dataset version watermark (model_versions -> dataset_versions, from the database) >= the sample's seq. After the labeling phase the processes keep running without load (the drain, up to ${DRAIN_SECONDS} s, until every sample is served or the training and scoring queues are idle) so the last labels can be served; samples never served are counted in detail.label_to_queue.unserved and count as infinitely late in the median (null when the median falls among them).`,
  'rss_mb_max: VmRSS from /proc/<pid>/status of each process of the mode plus its descendant processes, every second from the start of the labeling phase to the end of the drain; the maximum, in MiB.',
  "ratios: a mode's labels_per_s / api_only labels_per_s, and its p99_ms / api_only p99_ms.",
].join(' ');

function table(results: Record<string, Record<string, unknown>>): string {
  const modes = Object.keys(results);
  const keys = [
    'labels_per_s',
    'p99_ms',
    'errors',
    'health_live_max_ms',
    'trainings_completed',
    'scorings_completed',
    'jobs_stalled',
    'jobs_failed',
    'lost_annotations',
    'label_to_queue_p50_s',
    'rss_mb_max',
  ];
  const cell = (value: unknown) =>
    value === undefined
      ? '-'
      : value !== null && typeof value === 'object'
        ? Object.entries(value)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : String(value);
  const rows = [
    ['', ...modes, 'target'],
    ...keys.map((k) => [
      k,
      ...modes.map((m) => cell(results[m][k])),
      TARGETS[k as keyof typeof TARGETS] ?? '',
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const unknown = MODES.filter((mode) => !['api_only', 'all', 'split'].includes(mode));
  if (unknown.length > 0)
    throw new Error(`BENCH_MIXED_MODES: unknown ${unknown.join(', ')} (api_only, all, split)`);
  if (![SECONDS, API_SECONDS, ITEMS, DRAIN_SECONDS, TOPUP_CHUNK].every((n) => Number.isFinite(n) && n >= 0))
    throw new Error(
      'BENCH_MIXED_SECONDS, _API_SECONDS, _ITEMS, _DRAIN_SECONDS and _TOPUP_CHUNK must be numbers',
    );
  const runDir = mkdtempSync(join(tmpdir(), 'labelloop-mixed-'));
  process.stdout.write(`bench:mixed: modes ${MODES.join(', ')}; process logs under ${runDir}\n`);
  // Everything is bounded: past this the run is abandoned (processes killed, databases dropped).
  const budgetMs = MODES.reduce(
    (sum, mode) => sum + ((mode === 'api_only' ? API_SECONDS : SECONDS + DRAIN_SECONDS) + 600) * 1000,
    0,
  );
  const abandon = async (why: string) => {
    process.stderr.write(`bench:mixed: ${why}; stopping the service processes\n`);
    await Promise.race([Promise.allSettled([...cleanups].map((cleanup) => cleanup(5_000))), sleep(40_000)]);
    process.exit(1);
  };
  const watchdog = setTimeout(() => void abandon(`over the time budget of ${budgetMs / 1000} s`), budgetMs);
  process.once('SIGINT', () => void abandon('interrupted'));
  process.once('SIGTERM', () => void abandon('terminated'));

  const results: Record<string, Record<string, unknown>> = {};
  let failed = false;
  for (const mode of MODES) {
    try {
      results[mode] = await runMode(mode, runDir);
    } catch (error) {
      // A mode that could not be set up is reported as such; the other modes still run.
      failed = true;
      results[mode] = { error: (error as Error).message };
      process.stderr.write(`[${mode}] failed: ${(error as Error).stack}\n`);
    }
    process.stdout.write(`[${mode}] ${JSON.stringify(results[mode])}\n`);
  }
  clearTimeout(watchdog);

  const base = results.api_only as { labels_per_s?: number; p99_ms?: number } | undefined;
  const ratios: Record<string, number | null> = {};
  for (const mode of ['all', 'split']) {
    const r = results[mode] as { labels_per_s: number; p99_ms: number } | undefined;
    if (!r || !base?.labels_per_s || !base.p99_ms) continue;
    ratios[`${mode}_labels_per_s`] = round(r.labels_per_s / base.labels_per_s, 3);
    ratios[`${mode}_p99_ms`] = round(r.p99_ms / base.p99_ms, 2);
  }
  process.stdout.write(`\n${table(results)}\nratios vs api_only: ${JSON.stringify(ratios)}\n`);
  for (const [mode, r] of Object.entries(results))
    if (r.error) process.stdout.write(`${mode}: not measured: ${String(r.error)}\n`);
  process.stdout.write(`process logs: ${runDir}\n`);
  const summary = (mode: string) => {
    const r = results[mode];
    if (!r) return undefined;
    if (mode !== 'api_only') return r;
    const { labels_per_s, p99_ms, errors, detail } = r;
    return { labels_per_s, p99_ms, errors, detail };
  };
  writeResult(RESULT, {
    all: summary('all'),
    split: summary('split'),
    api_only: summary('api_only'),
    ratios,
    targets: TARGETS,
    protocol: PROTOCOL,
    settings: {
      seconds: SECONDS,
      api_only_seconds: API_SECONDS,
      items: ITEMS,
      drain_seconds: DRAIN_SECONDS,
      loops: LOOPS,
      limit: LIMIT,
      retrain_threshold: RETRAIN_THRESHOLD,
      ml_backend: env.ML_BACKEND ?? 'auto (service default)',
      cold_start_queue_size: env.BENCH_QUEUE ?? 'service default',
    },
  });
  if (failed) process.exitCode = 1;
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
