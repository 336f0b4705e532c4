/**
 * `bench:noise -- --e2e`: the label-noise protocol of bench:noise through the product instead of the library.
 * A fresh server (all roles in one process, built from this checkout) gets a project over REST, the seed's
 * sample with its flipped labels as one NDJSON import, a training; the promotion's suspects job ranks the
 * labeled pool, and the suspects endpoint, read page by page, is that ranking. Writes
 * bench/results/noise-<dataset>-e2e.json with the library result's keys.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist, loadSpamAssassin } from './ml-support/data';
import {
  flipLabels,
  NOISE_DATASETS,
  NOISE_RATE,
  type NoiseDataset,
  sampleRows,
  scoreRanking,
} from './ml-support/noisy-labels';
import { DIGITS } from './support/mnist-items';
import { freePort } from './support/ports';
import { startBenchRedis } from './support/redis-server';
import { writeResult } from './support/results';
import { api, importNdjson, startBenchServer } from './support/server';

/** The endpoint's largest page. */
const PAGE = 1000;
/** A run past this is abandoned (a training or suspects job that never ends). */
const TIMEOUT_MS = 30 * 60_000;

interface NoisyItems {
  labels: string[];
  /** NDJSON import lines, in sample order; `externalIds[i]` names sample row i. */
  lines: string[];
  externalIds: string[];
  flips: Set<number>;
}

/** The seed's sample of the dataset as labeled import items, 10% of them with a flipped label. */
function noisyItems(dataset: NoiseDataset, seed: number): NoisyItems {
  const rows = sampleRows(dataset, seed);
  const { numClasses } = NOISE_DATASETS[dataset];
  if (dataset === 'mnist') {
    const train = loadMnist('train');
    const side = Math.sqrt(train.features.cols);
    const { noisy, flips } = flipLabels(
      rows.map((r) => train.labels[r]),
      numClasses,
      seed,
    );
    const externalIds = rows.map((r) => `mnist-${r}`);
    const lines = rows.map((r, i) => {
      const pixels = Array.from(train.features.data.subarray(r * side * side, (r + 1) * side * side), (v) =>
        Math.round(v * 255),
      );
      const label = DIGITS[noisy[i]];
      return `${JSON.stringify({ externalId: externalIds[i], pixels, width: side, height: side, label })}\n`;
    });
    return { labels: [...DIGITS], lines, externalIds, flips };
  }
  const emails = loadSpamAssassin();
  const labels = ['ham', 'spam'];
  const { noisy, flips } = flipLabels(
    rows.map((r) => (emails[r].spam ? 1 : 0)),
    numClasses,
    seed,
  );
  const externalIds = rows.map((r) => `spam-${r}`);
  const lines = rows.map(
    (r, i) =>
      `${JSON.stringify({ externalId: externalIds[i], text: emails[r].text, label: labels[noisy[i]] })}\n`,
  );
  return { labels, lines, externalIds, flips };
}

interface JobView {
  id: string;
  state: string;
  failedReason: string | null;
  result: Record<string, unknown> | null;
  processedAt: string | null;
  finishedAt: string | null;
}

/** Polls the project's jobs of `queue` until one has finished; a failed one ends the run. */
async function finishedJob(baseUrl: string, projectId: string, queue: string): Promise<JobView> {
  for (;;) {
    const { data } = await api(baseUrl, 'GET', `/v1/projects/${projectId}/jobs?queue=${queue}`);
    const jobs = data as JobView[];
    const failed = jobs.find((job) => job.state === 'failed');
    if (failed) throw new Error(`${queue} job failed: ${failed.failedReason}`);
    const done = jobs.find((job) => job.state === 'completed');
    if (done) return done;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const jobSeconds = (job: JobView) =>
  job.processedAt && job.finishedAt
    ? (Date.parse(job.finishedAt) - Date.parse(job.processedAt)) / 1000
    : null;

interface RankedSuspect {
  externalId: string;
  flagged: boolean;
}

/** The whole ranking, page after page through the cursor. */
async function readRanking(baseUrl: string, projectId: string): Promise<RankedSuspect[]> {
  const ranking: RankedSuspect[] = [];
  let cursor: number | null = null;
  do {
    const after: string = cursor === null ? '' : `&cursor=${cursor}`;
    const page = await api(baseUrl, 'GET', `/v1/projects/${projectId}/suspects?limit=${PAGE}${after}`);
    ranking.push(...(page.data as RankedSuspect[]));
    cursor = page.nextCursor as number | null;
  } while (cursor !== null);
  return ranking;
}

/** The library's result for the same seed (bench:noise without --e2e), when it was run with that seed. */
function libraryScores(dataset: NoiseDataset, seed: number) {
  const file = join(__dirname, 'results', `noise-${dataset}.json`);
  if (!existsSync(file)) return null;
  const library = JSON.parse(readFileSync(file, 'utf8'));
  const at = (library.protocol?.seeds as number[] | undefined)?.indexOf(seed) ?? -1;
  return at >= 0 ? { seed, ...library.per_seed[at], model: library.protocol.model } : null;
}

export async function runNoiseE2e(dataset: NoiseDataset, seed: number): Promise<void> {
  const started = Date.now();
  // The server runs from dist/: build it from this checkout, so the run measures this code.
  execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench:noise --e2e: over ${TIMEOUT_MS / 60_000} minutes; abandoned\n`);
    process.exit(1);
  }, TIMEOUT_MS);
  const runDir = mkdtempSync(join(tmpdir(), 'labelloop-noise-e2e-'));
  const log = join(runDir, 'server.log');
  process.stdout.write(`bench:noise --e2e ${dataset} seed ${seed}; server log ${log}\n`);
  const redis = await startBenchRedis();
  const server = await startBenchServer(
    await freePort(),
    {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `{labelloop-noise-${randomBytes(4).toString('hex')}}`,
      STORAGE_FS_ROOT: join(runDir, 'objects'),
      ...(process.env.ML_BACKEND ? { ML_BACKEND: process.env.ML_BACKEND } : {}),
    },
    { role: 'all', logFile: log, readyTimeoutMs: 120_000 },
  );
  try {
    const items = noisyItems(dataset, seed);
    const project = await api(server.baseUrl, 'POST', '/v1/projects', {
      name: `noise-${dataset}-e2e`,
      inputKind: dataset === 'mnist' ? 'image' : 'text',
      labels: items.labels,
      // Every item in the pool: the suspects job examines the labeled pool, as in the library protocol.
      holdoutFraction: 0,
      seed,
    });
    const importStarted = Date.now();
    const imported = await importNdjson(server.baseUrl, project.id, items.lines);
    if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);
    const importSeconds = (Date.now() - importStarted) / 1000;
    process.stdout.write(`imported ${items.lines.length} labeled items in ${importSeconds.toFixed(1)} s\n`);

    await api(server.baseUrl, 'POST', `/v1/projects/${project.id}/train`, {});
    const training = await finishedJob(server.baseUrl, project.id, 'training');
    process.stdout.write(`trained in ${jobSeconds(training)} s; waiting for the suspects job\n`);
    const suspects = await finishedJob(server.baseUrl, project.id, 'suspects');
    process.stdout.write(`suspects job: ${JSON.stringify(suspects.result)} in ${jobSeconds(suspects)} s\n`);

    const readStarted = Date.now();
    const ranking = await readRanking(server.baseUrl, project.id);
    const readSeconds = (Date.now() - readStarted) / 1000;
    const position = new Map(items.externalIds.map((id, i) => [id, i]));
    const isFlip = ranking.map((s) => items.flips.has(position.get(s.externalId)!));
    const flagged = ranking.filter((s) => s.flagged);
    const flaggedFlips = isFlip.filter((flip, r) => flip && ranking[r].flagged).length;
    const { data: models } = await api(server.baseUrl, 'GET', `/v1/projects/${project.id}/models`);
    const model = (models as { backend: string; spec: unknown }[])[0];
    const { n, numClasses } = NOISE_DATASETS[dataset];

    writeResult(`noise-${dataset}-e2e`, {
      dataset,
      noise_rate: NOISE_RATE,
      n,
      flipped: items.flips.size,
      ...scoreRanking(isFlip, items.flips.size),
      ranking:
        'the suspects endpoint, every page in order (the product ranks by 1 - p(given label), highest first)',
      listed: ranking.length,
      flagged: flagged.length,
      flagged_precision: flagged.length ? flaggedFlips / flagged.length : 0,
      flagged_recall: flaggedFlips / items.flips.size,
      library_same_seed: libraryScores(dataset, seed),
      protocol: {
        sample: `the ${n} rows bench:noise samples for the seed (${dataset === 'mnist' ? 'MNIST training images, imported as 28x28 gray pixels 0-255' : 'SpamAssassin e-mails, headers stripped, imported as text'})`,
        noise: 'flip 10% of labels (seeded) to a uniformly random other class, as bench:noise',
        product:
          'a fresh server (LABELLOOP_ROLE=all, its own database, Redis and object store) built from this checkout; ' +
          'POST /v1/projects, one NDJSON import of every item with its (possibly flipped) label, POST /train; ' +
          "the promotion's scoring queues the suspects job (5-fold out-of-sample probabilities of the project's " +
          'model spec, confident learning); GET /suspects read through its cursor, 1,000 per page',
        seeds: [seed],
        metrics:
          'precision_at_k: share of flips among the k = #flipped first rows of the list; recall_at_2k: share of ' +
          'flips in the first 2k; auroc: list order vs flipped; flagged_*: the flagged=true subset',
      },
      settings: {
        project: {
          inputKind: dataset === 'mnist' ? 'image' : 'text',
          classes: numClasses,
          holdoutFraction: 0,
          seed,
        },
        model_spec: model?.spec,
        backend: model?.backend,
      },
      timings_s: {
        import: importSeconds,
        training: jobSeconds(training),
        suspects_job: jobSeconds(suspects),
        read_list: readSeconds,
      },
      suspects_job_result: suspects.result,
      seconds: Math.round((Date.now() - started) / 1000),
    });
  } finally {
    clearTimeout(watchdog);
    await server.stop(10_000).catch((error: Error) => process.stderr.write(`stop: ${error.message}\n`));
    await redis.stop();
    rmSync(join(runDir, 'objects'), { recursive: true, force: true });
  }
}
