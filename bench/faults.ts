import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@labelloop/config';
import { Client } from 'pg';
import { acknowledgedRows, AnnotatorLoops } from './support/annotators';
import { round } from './support/load';
import { pngDeclaring, solidPng } from './support/png';
import { freePort } from './support/ports';
import { isAlive, treeRss } from './support/processes';
import { startBenchRedis, type BenchRedis } from './support/redis-server';
import { writeResult } from './support/results';
import { api, BENCH_ADMIN_KEY, importNdjson, startBenchServer, type BenchServer } from './support/server';
import { stallUpload } from './support/stalled-upload';

// `npm run bench:faults`: the fault drills of issue 12 against the built service (one process, role `all`: API,
// trainer and scorer) on its own database and its own redis-server, which the drills kill, restart and flush.
// Each drill gets a fresh text project of BENCH_FAULTS_ITEMS items and 16 annotator loops (tasks/next?limit=10,
// then one annotation per task) that run from before the fault until after it. Per drill: acks (annotations
// answered 201), rows (those found in the database), lost, failed_requests, max_latency_ms, process_alive, and
// the drill's own figures. A server that died is replaced (fresh database) before the next drill.

const env = process.env;
const ITEMS = Number(env.BENCH_FAULTS_ITEMS ?? 100_000);
const LOOPS = 16;
const LABELS = ['spam', 'ham'] as const;
/** Loops label this long before a drill's fault, so the fault meets a service under load. */
const WARMUP_MS = 3_000;
/** The stalled upload gives up after this long if the server never closes it. */
const STALL_CAP_MS = 120_000;
const TRAINING_TIMEOUT_MS = 120_000;
const BENCH_APPLICATION = 'labelloop-bench';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface DrillContext {
  server: BenchServer;
  redis: BenchRedis;
  loops: AnnotatorLoops;
  /** The text project the loops label. */
  projectId: string;
  /** The configuration the server runs with (defaults plus the benchmark's environment). */
  serverEnv: Record<string, string>;
}

type Figures = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// The service's database, seen from the benchmark (under an application name of its own)

async function withDatabase<T>(databaseUrl: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl, application_name: BENCH_APPLICATION });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** What a failover does: ends every session of the service's database but the benchmark's. */
function terminateServiceBackends(databaseUrl: string): Promise<number> {
  return withDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query<{ ended: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend' AND application_name <> $1`,
      [BENCH_APPLICATION],
    );
    return rows[0].ended;
  });
}

function idleInTransaction(databaseUrl: string): Promise<number> {
  return withDatabase(databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND application_name <> $1`,
      [BENCH_APPLICATION],
    );
    return rows[0].n;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Projects and trainings through the API

/** The loops' project: ITEMS texts, automatic retraining out of the way (trainings are the drills' to start). */
async function annotatorProject(server: BenchServer, name: string) {
  const project = await api(server.baseUrl, 'POST', '/v1/projects', {
    name,
    inputKind: 'text',
    labels: [...LABELS],
    acquisitionSpec: { retrainThreshold: 1_000_000 },
  });
  const lines = function* () {
    for (let i = 0; i < ITEMS; i++)
      yield `${JSON.stringify({ externalId: `t-${i}`, text: `message ${i}` })}\n`;
  };
  const imported = await importNdjson(server.baseUrl, project.id, lines());
  if (!imported.ok) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
  await server.settle();
  const keys: string[] = [];
  for (let i = 0; i < LOOPS; i++) {
    const created = await api(server.baseUrl, 'POST', '/v1/api-keys', {
      name: `annotator-${i}`,
      role: 'annotator',
      projectId: project.id,
    });
    keys.push(created.key);
  }
  return { projectId: project.id, keys };
}

/** A 40-row tabular project with a linear model: a training takes a second or two. */
async function tabularProject(server: BenchServer, name: string): Promise<string> {
  const project = await api(server.baseUrl, 'POST', '/v1/projects', {
    name,
    inputKind: 'tabular',
    labels: ['neg', 'pos'],
    holdoutFraction: 0,
    modelSpec: { architecture: 'linear', epochs: 5, learningRate: 0.05 },
  });
  const rows = Array.from({ length: 40 }, (_, i) => {
    const x = ((i * 37) % 40) / 20 - 1 + 0.01;
    return { externalId: `row-${i}`, features: [x, (i % 7) / 7], label: x > 0 ? 'pos' : 'neg' };
  });
  await api(server.baseUrl, 'POST', `/v1/projects/${project.id}/items`, rows);
  return project.id;
}

interface Training {
  projectId: string;
  jobId: string;
  state: string;
  /** The model the finished job answered with. */
  modelVersionId: string | null;
  failedReason: string | null;
}

/** Queues a training and waits for its job to complete or fail (or TRAINING_TIMEOUT_MS). */
async function train(server: BenchServer, projectId: string): Promise<Training> {
  const queued = await api(server.baseUrl, 'POST', `/v1/projects/${projectId}/train`, {});
  const jobId = String(queued.jobId);
  const deadline = Date.now() + TRAINING_TIMEOUT_MS;
  for (;;) {
    const jobs = (await api(server.baseUrl, 'GET', `/v1/projects/${projectId}/jobs`)).data as {
      id: string;
      state: string;
      failedReason: string | null;
      result: { modelVersionId?: string } | null;
    }[];
    const job = jobs.find((j) => j.id === jobId);
    const state = job?.state ?? 'missing';
    if (state === 'completed' || state === 'failed' || Date.now() > deadline)
      return {
        projectId,
        jobId,
        state,
        modelVersionId: job?.result?.modelVersionId ?? null,
        failedReason: job?.failedReason ?? null,
      };
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The drills. Each runs while the loops label, and returns its own figures.

/** a. PostgreSQL backends of the service terminated 3 times, 10 s apart, then 10 s to recover. */
async function pgBackendsTerminated({ server }: DrillContext): Promise<Figures> {
  const ended: number[] = [];
  await sleep(WARMUP_MS);
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(10_000);
    ended.push(await terminateServiceBackends(server.databaseUrl));
  }
  await sleep(10_000);
  return { backends_terminated: ended };
}

/** b. The service's Redis killed (SIGKILL) for 30 s, then started again (empty); labels/s before, during, after. */
async function redisKilled({ redis, loops }: DrillContext): Promise<Figures> {
  const windowMs = 15_000;
  await sleep(WARMUP_MS + windowMs);
  const killedAt = Date.now();
  await redis.kill();
  await sleep(30_000);
  await redis.restart();
  const restartedAt = Date.now();
  await sleep(windowMs);
  const perSecond = (from: number, to: number) => round(loops.acksBetween(from, to) / ((to - from) / 1000));
  const before = perSecond(killedAt - windowMs, killedAt);
  const during = perSecond(killedAt, restartedAt);
  return {
    redis_down_s: round((restartedAt - killedAt) / 1000),
    labels_per_s_before: before,
    labels_per_s_during: during,
    labels_per_s_after: perSecond(restartedAt, restartedAt + windowMs),
    ratio: before > 0 ? round(during / before, 2) : null,
  };
}

/**
 * c. Two projects trained, Redis FLUSHALL (BullMQ's job ids start again at 1), two new projects trained: each
 * must get a new model of its own. foreign_models counts trainings answered with a model that is missing, of
 * another project or from before the flush, models whose frozen dataset version belongs to another project, and
 * models of the first two projects changed by the later trainings.
 */
async function redisFlushed({ server, redis }: DrillContext): Promise<Figures> {
  const modelRows = () =>
    withDatabase(server.databaseUrl, async (client) => {
      const { rows } = await client.query<{ id: string; project_id: string; state: string }>(
        `SELECT id, project_id, concat_ws(' ', status, run_id, artifact_key, dataset_version_id, ready_at) AS state
           FROM model_versions`,
      );
      return new Map(rows.map((row) => [row.id, row]));
    });
  const earlier: Training[] = [];
  for (const name of ['before-flush-1', 'before-flush-2'])
    earlier.push(await train(server, await tabularProject(server, name)));
  const beforeFlush = await modelRows();
  await redis.flushAll();
  const later: Training[] = [];
  for (const name of ['after-flush-1', 'after-flush-2'])
    later.push(await train(server, await tabularProject(server, name)));
  const afterTrainings = await modelRows();

  const answeredForeign = later.filter((t) => {
    const model = t.modelVersionId ? afterTrainings.get(t.modelVersionId) : undefined;
    return (
      t.modelVersionId !== null && (!model || model.project_id !== t.projectId || beforeFlush.has(model.id))
    );
  }).length;
  const changed = [...beforeFlush.values()].filter(
    (row) =>
      afterTrainings.get(row.id)?.state !== row.state ||
      afterTrainings.get(row.id)?.project_id !== row.project_id,
  ).length;
  const crossProject = await withDatabase(server.databaseUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM model_versions m JOIN dataset_versions d ON d.id = m.dataset_version_id
        WHERE m.project_id <> d.project_id`,
    );
    return rows[0].n;
  });
  const ownNew = later.filter((t) => {
    const model = t.modelVersionId ? afterTrainings.get(t.modelVersionId) : undefined;
    return t.state === 'completed' && model?.project_id === t.projectId && !beforeFlush.has(model.id);
  }).length;
  return {
    foreign_models: answeredForeign + changed + crossProject,
    own_new_models: ownNew,
    detail: {
      answered_with_foreign_model: answeredForeign,
      earlier_models_changed: changed,
      trained_on_another_projects_version: crossProject,
      trainings_before_flush: earlier.map(({ jobId, state }) => ({ job_id: jobId, state })),
      trainings_after_flush: later.map(({ projectId, jobId, state, modelVersionId, failedReason }) => ({
        job_id: jobId,
        state,
        model_version_id: modelVersionId,
        model_of_own_project: modelVersionId
          ? afterTrainings.get(modelVersionId)?.project_id === projectId
          : null,
        failed_reason: failedReason,
      })),
    },
  };
}

/**
 * d. An NDJSON import that sends 2,600 lines (the first 2,500-item batch is written inside the import's
 * transaction) and then nothing: when the server closes it, and whether a session is left idle in transaction.
 */
async function stalledUpload({ server, projectId, serverEnv }: DrillContext): Promise<Figures> {
  const config = loadConfig({ ...process.env, ...serverEnv });
  let duringStall: number | null = null;
  let firstPart = '';
  for (let i = 0; i < 2_600; i++)
    firstPart += `${JSON.stringify({ externalId: `stall-${i}`, text: `stall ${i}` })}\n`;
  await sleep(WARMUP_MS);
  const stalled = await stallUpload(
    `${server.baseUrl}/v1/projects/${projectId}/items`,
    { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
    firstPart,
    STALL_CAP_MS,
    async () => {
      await sleep(2_000);
      duringStall = await idleInTransaction(server.databaseUrl);
    },
  );
  // The server's rollback after the close, if any, has a moment to land.
  await sleep(1_000);
  return {
    closed_after_ms: stalled.closedAfterMs === null ? null : round(stalled.closedAfterMs),
    answer_status: stalled.status,
    idle_in_transaction: await idleInTransaction(server.databaseUrl),
    idle_in_transaction_2s_into_stall: duringStall,
    // HTTP_BODY_IDLE_TIMEOUT_MS as the server runs with it (its default unless the environment sets it).
    documented_timeout_ms: config.http.bodyIdleTimeoutMs,
  };
}

/**
 * e. 10 rounds, in the loops' project, of the issue's shape: two labeled imports open (each has written its first
 * 2,500-item batch inside its transaction and waits), the first finishes, a version is committed, the second
 * finishes. Each version's export is read when it is committed and again at the end: versions_changed counts
 * those whose bytes differ.
 */
async function importsAndCommits({ server, projectId }: DrillContext): Promise<Figures> {
  const exportOf = async (number: number) => {
    const response = await fetch(
      `${server.baseUrl}/v1/projects/${projectId}/versions/${number}/export?format=jsonl`,
      { headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } },
    );
    if (!response.ok) throw new Error(`export of version ${number}: ${response.status}`);
    const text = await response.text();
    return { sha256: createHash('sha256').update(text).digest('hex'), rows: text.split('\n').length - 1 };
  };
  let importsFailed = 0;
  /** An import that sends 2,600 labeled lines, waits for release(), then sends 200 more and ends. */
  const heldImport = (prefix: string) => {
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    const lines = function* (from: number, to: number) {
      for (let i = from; i < to; i++)
        yield `${JSON.stringify({ externalId: `${prefix}-${i}`, text: `${prefix} ${i}`, label: LABELS[i % 2] })}\n`;
    };
    const body = async function* () {
      yield* lines(0, 2_600);
      await released;
      yield* lines(2_600, 2_800);
    };
    const done = importNdjson(server.baseUrl, projectId, body()).then(
      async (response) => {
        if (!response.ok) importsFailed++;
        await response.text();
      },
      () => void importsFailed++,
    );
    return { release, done };
  };
  const versions: { number: number; sha256: string; rows: number }[] = [];
  let commitMaxMs = 0;
  for (let round = 0; round < 10; round++) {
    const first = heldImport(`first-${round}`);
    await sleep(250);
    const second = heldImport(`second-${round}`);
    // Both first batches are written inside their transactions by now.
    await sleep(500);
    first.release();
    await first.done;
    const started = performance.now();
    const commit = api(server.baseUrl, 'POST', `/v1/projects/${projectId}/versions`, {
      message: `round ${round}`,
    });
    // A commit that waits for the open import would wait forever: the import is let go after 5 s.
    const early = await Promise.race([commit, sleep(5_000).then(() => null)]);
    const atCommit = early ? await exportOf(Number(early.number)) : null;
    second.release();
    const version = await commit;
    commitMaxMs = Math.max(commitMaxMs, performance.now() - started);
    await second.done;
    versions.push({
      number: Number(version.number),
      ...(atCommit ?? (await exportOf(Number(version.number)))),
    });
  }
  let changed = 0;
  for (const version of versions) if ((await exportOf(version.number)).sha256 !== version.sha256) changed++;
  return {
    versions_changed: changed,
    versions: versions.length,
    commit_max_ms: round(commitMaxMs),
    imports_failed: importsFailed,
    rows_in_last_version: versions.at(-1)?.rows ?? null,
  };
}

/**
 * f. A trained image model, then a 68-byte PNG whose header declares 16000 x 16000 POSTed to predict: the
 * answer, and the rise of the server's RSS (process and children, sampled every 20 ms) over its highest RSS in
 * the second before.
 */
async function hugePngPredict({ server }: DrillContext): Promise<Figures> {
  const project = await api(server.baseUrl, 'POST', '/v1/projects', {
    name: 'images',
    inputKind: 'image',
    labels: ['dark', 'light'],
    holdoutFraction: 0,
  });
  const items = Array.from({ length: 20 }, (_, i) => ({
    externalId: `img-${i}`,
    imageBase64: solidPng(8, 8, i % 2 === 0 ? 30 : 220).toString('base64'),
    label: i % 2 === 0 ? 'dark' : 'light',
  }));
  await api(server.baseUrl, 'POST', `/v1/projects/${project.id}/items`, items);
  const training = await train(server, project.id);
  if (!training.modelVersionId) throw new Error(`image training ${training.state}: ${training.failedReason}`);
  const png = pngDeclaring(16_000, 16_000);
  let peakKb = 0;
  const sampler = setInterval(() => (peakKb = Math.max(peakKb, treeRss(server.pid).kb)), 20);
  await sleep(1_000);
  const baselineKb = peakKb;
  const started = performance.now();
  const response = await fetch(`${server.baseUrl}/v1/models/${training.modelVersionId}/predict`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ imageBase64: png.toString('base64') }] }),
  });
  const answer = await response.text();
  const predictMs = performance.now() - started;
  await sleep(1_000);
  clearInterval(sampler);
  return {
    status: response.status,
    answer: answer.slice(0, 200),
    predict_ms: round(predictMs),
    rss_increase_mb: round((peakKb - baselineKb) / 1024),
    png_bytes: png.length,
  };
}

const DRILLS: Record<string, (context: DrillContext) => Promise<Figures>> = {
  pg_backends_terminated: pgBackendsTerminated,
  redis_killed: redisKilled,
  redis_flushed: redisFlushed,
  stalled_upload: stalledUpload,
  imports_and_commits: importsAndCommits,
  huge_png_predict: hugePngPredict,
};

// ---------------------------------------------------------------------------------------------------------------
// Targets: each figure's rule, in one place; a drill lists the figures it has that miss theirs.

const TARGETS: Record<string, { rule: string; met: (value: unknown, drill: Figures) => boolean }> = {
  lost: { rule: '0', met: (v) => v === 0 },
  process_alive: { rule: 'true', met: (v) => v === true },
  ratio: { rule: '>= 0.5 (labels/s during the Redis outage over before)', met: (v) => Number(v) >= 0.5 },
  foreign_models: { rule: '0', met: (v) => v === 0 },
  own_new_models: { rule: '2', met: (v) => v === 2 },
  closed_after_ms: {
    rule: '<= documented_timeout_ms (HTTP_BODY_IDLE_TIMEOUT_MS); null: still open after 120 s',
    met: (v, drill) => v !== null && Number(v) <= Number(drill.documented_timeout_ms),
  },
  idle_in_transaction: { rule: '0', met: (v) => v === 0 },
  versions_changed: { rule: '0', met: (v) => v === 0 },
  status: { rule: '4xx', met: (v) => Number(v) >= 400 && Number(v) < 500 },
  rss_increase_mb: { rule: '< 50', met: (v) => Number(v) < 50 },
};

function missedTargets(drill: Figures): string[] {
  const missed = Object.keys(TARGETS).filter((key) => key in drill && !TARGETS[key].met(drill[key], drill));
  return drill.error ? ['error', ...missed] : missed;
}

// ---------------------------------------------------------------------------------------------------------------

const PROTOCOL = [
  'One service process (dist/apps/server, LABELLOOP_ROLE=all: API, trainer and scorer) on a fresh PostgreSQL database of the local server and a redis-server of its own on a free port (no persistence), fs object store in a temp dir; service, PostgreSQL, Redis and this load generator on one machine. A server that is not alive after a drill is replaced (fresh database) before the next.',
  `Each drill: a fresh text project of ${ITEMS} items (retrainThreshold 1,000,000, so only the drills start trainings), ${LOOPS} annotator loops with a project-scoped annotator key each (undici pool, ${LOOPS} connections, 60 s client timeout) leasing tasks/next?limit=10 and POSTing one annotation per task, from ${WARMUP_MS / 1000} s before the fault until the drill ends; a loop waits 100 ms after an empty lease and 50 ms after a failed request.`,
  'acks: annotations answered 201; rows: those ids found in the annotations table (project, source human) after the drill; lost = acks - rows; failed_requests: non-2xx answers, network errors and client timeouts of the loops (failed_by_kind splits them); max_latency_ms: the slowest loop request; process_alive: the server process exists and answers /health/live within 10 s after the drill.',
  "pg_backends_terminated: pg_terminate_backend on every client backend of the service database but the benchmark's own, 3 times 10 s apart, then 10 s more.",
  'redis_killed: SIGKILL of the redis-server, started again (empty) on the same port 30 s later; labels_per_s_before/during/after: acks answered in the 15 s before the kill / the outage / the 15 s after, per second; ratio = during / before.',
  'redis_flushed: two 40-row tabular projects trained (POST train, job polled to completed), FLUSHALL, two new tabular projects trained; foreign_models as described in detail; own_new_models: trainings after the flush that completed with a new model of their own project.',
  'stalled_upload: POST /v1/projects/:id/items (NDJSON, chunked, own connection) sends 2,600 lines and then nothing; closed_after_ms: from the last byte sent until the server closed the connection (null: still open after 120 s, then closed by the client), against documented_timeout_ms, the server setting HTTP_BODY_IDLE_TIMEOUT_MS; idle_in_transaction: sessions of the service database in state idle in transaction 1 s after the close.',
  "imports_and_commits: 10 rounds in the loops' project: two labeled NDJSON imports (250 ms apart) each send 2,600 lines and wait; the first sends 200 more and ends; POST versions commits; the version's JSONL export is read (sha256); the second import sends 200 more and ends (after the commit answered, or after 5 s if the commit waits for it); at the end every version's export is read again; versions_changed: versions whose bytes differ; commit_max_ms: the slowest commit.",
  'huge_png_predict: a 20-image 8x8 image project trained (MLP, default spec), then POST /v1/models/:id/predict with one 68-byte PNG whose IHDR (CRC fixed) declares 16000 x 16000; status, and rss_increase_mb: the highest VmRSS of the server process and its children (every 20 ms, /proc) from the request to 1 s after, minus the highest in the second before.',
].join(' ');

async function processAlive(server: BenchServer): Promise<boolean> {
  if (!isAlive(server.pid)) return false;
  try {
    return (await fetch(`${server.baseUrl}/health/live`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const selected = (env.BENCH_FAULTS_DRILLS ?? Object.keys(DRILLS).join(',')).split(',');
  const unknown = selected.filter((name) => !(name in DRILLS));
  if (unknown.length > 0) throw new Error(`BENCH_FAULTS_DRILLS: unknown ${unknown.join(', ')}`);
  const runDir = mkdtempSync(join(tmpdir(), 'labelloop-faults-'));
  const log = join(runDir, 'server.log');
  process.stdout.write(`bench:faults: drills ${selected.join(', ')}; server log ${log}\n`);
  const redis = await startBenchRedis();
  const serverEnv: Record<string, string> = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: `{labelloop-faults-${randomBytes(4).toString('hex')}}`,
    STORAGE_FS_ROOT: join(runDir, 'objects'),
    SHUTDOWN_DELAY_MS: '0',
    LOG_LEVEL: env.BENCH_FAULTS_LOG_LEVEL ?? 'warn',
    ...(env.ML_BACKEND ? { ML_BACKEND: env.ML_BACKEND } : {}),
  };
  const startServer = async () =>
    startBenchServer(await freePort(), serverEnv, { role: 'all', logFile: log, readyTimeoutMs: 120_000 });
  let server = await startServer();
  // Everything is bounded: past this the run is abandoned (the server and Redis are killed on exit).
  const watchdog = setTimeout(() => {
    process.stderr.write('bench:faults: over 20 minutes; abandoned\n');
    process.exit(1);
  }, 20 * 60_000);

  const drills: Record<string, Figures> = {};
  try {
    for (const name of selected) {
      process.stdout.write(`[${name}] preparing\n`);
      const { projectId, keys } = await annotatorProject(server, name);
      const loops = new AnnotatorLoops({ baseUrl: server.baseUrl, projectId, keys, labels: LABELS });
      const started = performance.now();
      loops.start();
      let figures: Figures;
      try {
        figures = await DRILLS[name]({ server, redis, loops, projectId, serverEnv });
      } catch (error) {
        figures = { error: (error as Error).message };
      }
      const tally = await loops.stop();
      const seconds = (performance.now() - started) / 1000;
      const ids = tally.acks.map((ack) => ack.annotationId);
      const rows = await acknowledgedRows(server.databaseUrl, projectId, ids);
      const alive = await processAlive(server);
      const drill: Figures = {
        acks: ids.length,
        rows,
        lost: ids.length - rows,
        failed_requests: tally.failedRequests,
        max_latency_ms: round(tally.maxLatencyMs),
        process_alive: alive,
        ...figures,
        seconds: round(seconds),
        labels_per_s: Math.round(ids.length / seconds),
        requests: tally.requests,
        failed_by_kind: tally.failedByKind,
        empty_leases: tally.emptyLeases,
      };
      drill.missed_targets = missedTargets(drill);
      drills[name] = drill;
      process.stdout.write(`[${name}] ${JSON.stringify(drill)}\n`);
      if (!alive) {
        // The next drill gets a server of its own; this one's database goes with it.
        await server.stop(5_000);
        server = await startServer();
      }
    }
  } finally {
    clearTimeout(watchdog);
    await server.stop(10_000).catch((error: Error) => process.stderr.write(`stop: ${error.message}\n`));
    await redis.stop();
    rmSync(join(runDir, 'objects'), { recursive: true, force: true });
  }

  writeResult('faults', {
    drills,
    targets: Object.fromEntries(Object.entries(TARGETS).map(([key, { rule }]) => [key, rule])),
    protocol: PROTOCOL,
    settings: {
      items_per_drill: ITEMS,
      loops: LOOPS,
      limit: 10,
      role: 'all',
      server_log: 'server.log in the run directory printed at the start',
    },
  });
  if (Object.values(drills).some((drill) => (drill.missed_targets as string[]).length > 0))
    process.exitCode = 1;
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
