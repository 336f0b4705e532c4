import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assignSplit } from '../apps/api/src/items/deterministic';
import { progressBar } from '../bench/ml-support/progress';
import { plotCurves } from '../bench/ml-support/plot';
import { DIGITS, importShape, type MnistItem, mnistItems } from '../bench/support/mnist-items';

// `npm run demo`: the active-learning loop against a running service (`npm start`). Creates an MNIST project,
// then plays annotators who answer with the true label: each round they label what tasks/next hands out, the
// service retrains by itself at the threshold, rescores the pool and refills the queue. Prints the holdout
// accuracy per round and writes the learning curve to bench/results/demo.png.

const BASE_URL = (process.env.LABELLOOP_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(
  /\/$/,
  '',
);
const ADMIN_KEY = process.env.ADMIN_API_KEY ?? '';
const ROUNDS = Number(process.env.DEMO_ROUNDS ?? 8);
const ROUND_LABELS = Number(process.env.DEMO_ROUND_LABELS ?? 100);
const POOL = 3000;
const HOLDOUT = 500;
const HOLDOUT_FRACTION = 0.2;
const SEED = 2026;
const ANNOTATORS = 4;
const PNG_FILE = join(__dirname, '..', 'bench', 'results', 'demo.png');

/** A failure the user can act on: printed as one line, no stack. */
class DemoStop extends Error {}

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  key = ADMIN_KEY,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(BASE_URL + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new DemoStop(
      `labelloop is not reachable at ${BASE_URL} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}).\n` +
        'Start it with `npm start` (or point LABELLOOP_URL at it).',
    );
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    throw new DemoStop(
      `the service at ${BASE_URL} refused the admin key (${response.status}): set ADMIN_API_KEY to the key the service was started with.`,
    );
  }
  if (!response.ok) throw new DemoStop(`${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** The service answers and the key is an admin key, or a clear message says which is not so. */
async function checkService(): Promise<void> {
  if (ADMIN_KEY.length === 0) {
    throw new DemoStop(
      'ADMIN_API_KEY is not set: use the admin key the service was started with (or printed at its first start).',
    );
  }
  await call('GET', '/health/live');
  await call('GET', '/v1/api-keys');
}

/** MNIST images whose external ids the project's seeded split puts exactly POOL in the pool and HOLDOUT in the holdout. */
function demoItems(runId: string): { pool: MnistItem[]; holdout: MnistItem[] } {
  const pool: MnistItem[] = [];
  const holdout: MnistItem[] = [];
  for (const item of mnistItems('train', 0, 6000, `demo-${runId}`)) {
    const side = assignSplit(SEED, item.externalId, HOLDOUT_FRACTION) === 'holdout' ? holdout : pool;
    if (side.length < (side === pool ? POOL : HOLDOUT)) side.push(item);
  }
  return { pool, holdout };
}

interface Model {
  id: string;
  number: number;
  status: string;
  promoted: boolean;
  error: string | null;
  metrics: { accuracy: number } | null;
}

interface Task {
  id: string;
  externalId: string;
  preLabel: { label: string; probability: number } | null;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitForModel(projectId: string, number: number): Promise<Model> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { data } = await call<{ data: Model[] }>('GET', `/v1/projects/${projectId}/models`);
    const model = data.find((m) => m.number === number);
    if (model?.status === 'failed') throw new DemoStop(`training of model ${number} failed: ${model.error}`);
    if (model?.status === 'ready') return model;
    if (Date.now() > deadline)
      throw new DemoStop(`model ${number} was not trained within 3 minutes: is a trainer running?`);
    await sleep(250);
  }
}

/** Completed scorings as the service's /metrics counts them (the scorer runs in the same process under `npm start`). */
async function scoringsDone(): Promise<number | null> {
  const text = await (await fetch(`${BASE_URL}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('job_duration_seconds_count{') &&
        l.includes('queue="scoring"') &&
        l.includes('outcome="completed"'),
    );
  return line ? Number(line.split(' ').pop()) : 0;
}

/**
 * After a promotion the scorer rewrites the queue; the next round should label the new ranking. Waits for one
 * more completed scoring on /metrics, or 30 s when the scorer is another process (its metrics are not here).
 */
async function waitForRescoring(before: number | null): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const now = await scoringsDone();
    if (before !== null && now !== null && now > before) return;
    await sleep(250);
  }
}

async function main(): Promise<void> {
  await checkService();
  const started = Date.now();
  const runId = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const { pool, holdout } = demoItems(runId);
  const truth = new Map([...pool, ...holdout].map((item) => [item.externalId, item.truth]));
  const project = await call<{ id: string }>('POST', '/v1/projects', {
    name: `MNIST demo ${runId}`,
    inputKind: 'image',
    labels: [...DIGITS],
    holdoutFraction: HOLDOUT_FRACTION,
    seed: SEED,
    acquisitionSpec: {
      strategy: 'margin',
      diversity: true,
      batchSize: ROUND_LABELS,
      retrainThreshold: ROUND_LABELS,
    },
  });
  const items = [...holdout.map((item) => importShape(item, true)), ...pool.map((item) => importShape(item))];
  for (let i = 0; i < items.length; i += 500)
    await call('POST', `/v1/projects/${project.id}/items`, items.slice(i, i + 500));
  console.log(
    `project ${project.id}: ${POOL} unlabeled MNIST images in the pool, ${HOLDOUT} labeled in the holdout`,
  );
  console.log(
    `${ANNOTATORS} annotators label ${ROUND_LABELS} tasks per round; the service retrains every ${ROUND_LABELS} labels`,
  );
  const keys: string[] = [];
  for (let i = 1; i <= ANNOTATORS; i++) {
    keys.push(
      (
        await call<{ key: string }>('POST', '/v1/api-keys', {
          name: `demo-annotator-${i}`,
          role: 'annotator',
          projectId: project.id,
        })
      ).key,
    );
  }

  const curve = { labels: [] as number[], accuracy_mean: [] as number[], accuracy_std: [] as number[] };
  const bar = progressBar(ROUNDS * ROUND_LABELS, 'labels');
  const lines: string[] = [];
  let note = 'round 1: cold start';
  for (let round = 1; round <= ROUNDS; round++) {
    const scoringsBefore = await scoringsDone();
    let right = 0;
    let guessed = 0;
    // Each annotator takes its share of the round from the queue and answers with the truth.
    await Promise.all(
      keys.map(async (key, a) => {
        let todo = Math.floor(ROUND_LABELS / ANNOTATORS) + (a < ROUND_LABELS % ANNOTATORS ? 1 : 0);
        while (todo > 0) {
          const { data } = await call<{ data: Task[] }>(
            'GET',
            `/v1/projects/${project.id}/tasks/next?limit=${Math.min(10, todo)}`,
            undefined,
            key,
          );
          if (data.length === 0) throw new DemoStop('the queue ran dry');
          for (const task of data) {
            const label = truth.get(task.externalId)!;
            if (task.preLabel) {
              guessed++;
              if (task.preLabel.label === label) right++;
            }
            await call('POST', `/v1/tasks/${task.id}/annotation`, { label, leadTimeMs: 1500 }, key);
            todo--;
            bar.tick(note);
          }
        }
      }),
    );
    const model = await waitForModel(project.id, round);
    const accuracy = model.metrics?.accuracy ?? 0;
    if (model.promoted) await waitForRescoring(scoringsBefore);
    curve.labels.push(round * ROUND_LABELS);
    curve.accuracy_mean.push(accuracy);
    curve.accuracy_std.push(0);
    note = `round ${round}: accuracy ${(100 * accuracy).toFixed(1)}%`;
    lines.push(
      `round ${round}: ${round * ROUND_LABELS} labels -> model ${model.number} holdout accuracy ${(100 * accuracy).toFixed(1)}%` +
        `${model.promoted ? ' (promoted)' : ' (kept the previous model)'}` +
        (guessed > 0
          ? `; pre-labels shown this round right ${right}/${guessed}`
          : '; no pre-labels yet (cold start)'),
    );
  }
  bar.stop();
  for (const line of lines) console.log(line);
  mkdirSync(join(__dirname, '..', 'bench', 'results'), { recursive: true });
  await plotCurves(
    { 'margin + diversity': curve },
    'labelloop demo: MNIST holdout accuracy by labels given',
    PNG_FILE,
  );
  console.log(`learning curve: bench/results/demo.png (${Math.round((Date.now() - started) / 1000)} s)`);
}

main().catch((error: Error) => {
  process.stderr.write(error instanceof DemoStop ? `demo: ${error.message}\n` : `${error.stack}\n`);
  process.exit(1);
});
