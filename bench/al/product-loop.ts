import { api, importNdjson } from '../support/server';
import type { Run } from './curves';
import type { RawSplit } from './datasets';
import type { Protocol } from './protocols';

/** Predict takes at most 1,000 inputs per call; 500 keeps an MNIST request near 1.5 MB. */
const PREDICT_CHUNK = 500;
/** The API leases at most this many tasks per call (TASKS_NEXT_MAX's default). */
const LEASE_MAX = 100;
const POLL_MS = 500;
const WAIT_MS = 15 * 60_000;

interface ModelAnswer {
  id: string;
  number: number;
  status: string;
  promoted: boolean;
  backend: string;
  metrics: { accuracy?: number; holdoutRows?: number } | null;
}

interface JobAnswer {
  id: string;
  state: string;
  modelVersionId: string | null;
  failedReason: string | null;
  result: { modelVersionId?: string | null; promoted?: boolean; number?: number } | null;
}

/** One round as the product lived it: what was measured after the batch's labels. */
export interface ProductRound {
  labels: number;
  test_accuracy: number;
  /** The promoted model the accuracy is of, and whether this round's training got promoted. */
  model: number;
  promoted_this_round: boolean;
  /** Labeled holdout items that measured the promoted model (the product's own evaluation). */
  holdout_rows: number | null;
  label_s: number;
  train_s: number;
  rank_s: number;
}

export interface ProductRun extends Run {
  rounds: ProductRound[];
  backend: string | null;
  project: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`bench:al --e2e: ${what} did not happen in ${WAIT_MS / 60_000} min`);
    await sleep(POLL_MS);
  }
}

/**
 * The active-learning loop through the product's REST API on a running service, one project with the project
 * defaults (plus `acquisition` when given): import the pool unlabeled, then per round lease the next tasks
 * (`tasks/next`), annotate them with the true label, train, wait until the promoted model has ranked the pool,
 * and measure that model's test accuracy with `POST /v1/models/:id/predict`.
 */
export async function productLoop(
  baseUrl: string,
  p: Protocol,
  raw: RawSplit,
  seed: number,
  name: string,
  acquisition: Record<string, unknown> | undefined,
  onRound: (round: ProductRound) => void,
): Promise<ProductRun> {
  const project = await api(baseUrl, 'POST', '/v1/projects', {
    name,
    inputKind: raw.kind,
    labels: raw.labelNames,
    seed,
    ...(acquisition ? { acquisitionSpec: acquisition } : {}),
  });
  const projectId = project.id;
  const truth = new Map(raw.pool.payloads.map((_, i) => [`pool-${i}`, raw.labelNames[raw.pool.classes[i]]]));
  const imported = await importNdjson(
    baseUrl,
    projectId,
    raw.pool.payloads.map((payload, i) => `${JSON.stringify({ externalId: `pool-${i}`, ...payload })}\n`),
  );
  if (!imported.ok) throw new Error(`import: ${imported.status} ${await imported.text()}`);

  const labelBatch = async (count: number) => {
    for (let done = 0; done < count;) {
      const { data } = (await api(
        baseUrl,
        'GET',
        `/v1/projects/${projectId}/tasks/next?limit=${Math.min(LEASE_MAX, count - done)}`,
      )) as unknown as { data: { id: string; externalId: string }[] };
      if (data.length === 0) throw new Error('bench:al --e2e: the labeling queue ran dry');
      for (const task of data) {
        await api(baseUrl, 'POST', `/v1/tasks/${task.id}/annotation`, { label: truth.get(task.externalId) });
        done++;
      }
    }
  };
  const jobs = async (queue: string) =>
    (
      (await api(baseUrl, 'GET', `/v1/projects/${projectId}/jobs?queue=${queue}&limit=100`)) as unknown as {
        data: JobAnswer[];
      }
    ).data;
  const promotedModel = async () =>
    (
      (await api(baseUrl, 'GET', `/v1/projects/${projectId}/models?limit=100`)) as unknown as {
        data: ModelAnswer[];
      }
    ).data.find((m) => m.promoted);
  const accuracies = new Map<string, number>();
  const testAccuracy = async (modelId: string) => {
    let right = 0;
    for (let i = 0; i < raw.test.payloads.length; i += PREDICT_CHUNK) {
      const { predictions } = (await api(baseUrl, 'POST', `/v1/models/${modelId}/predict`, {
        inputs: raw.test.payloads.slice(i, i + PREDICT_CHUNK),
      })) as unknown as { predictions: { label: string }[] };
      predictions.forEach((pr, j) => {
        if (pr.label === raw.labelNames[raw.test.classes[i + j]]) right++;
      });
    }
    return right / raw.test.payloads.length;
  };

  const run: ProductRun = { labels: [], accuracy: [], rounds: [], backend: null, project: {} };
  for (let labels = 0; labels < p.budget;) {
    const batch = labels === 0 ? p.start : Math.min(p.batch, p.budget - labels);
    const roundStarted = Date.now();
    await labelBatch(batch);
    labels += batch;
    const labeled = Date.now();
    // A training the threshold started meanwhile may be waiting: the request then gets that job, which
    // freezes its dataset version when it starts, so after every label of the batch.
    const { jobId } = (await api(baseUrl, 'POST', `/v1/projects/${projectId}/train`, {})) as unknown as {
      jobId: string;
    };
    const job = await until('the training', async () => {
      const found = (await jobs('training')).find((j) => j.id === jobId);
      return found && (found.state === 'completed' || found.state === 'failed') ? found : undefined;
    });
    if (job.state === 'failed') throw new Error(`bench:al --e2e: training failed: ${job.failedReason}`);
    const trained = Date.now();
    // Ranked: a full scoring pass (payload names a model; score-new does not) by the model promoted now.
    const model = await until('the ranking by the promoted model', async () => {
      const promoted = await promotedModel();
      if (!promoted) return undefined;
      const scorings = await jobs('scoring');
      const ranked = scorings.some(
        (j) =>
          j.state === 'completed' && j.modelVersionId !== null && j.result?.modelVersionId === promoted.id,
      );
      return ranked ? promoted : undefined;
    });
    const rankedAt = Date.now();
    if (!accuracies.has(model.id)) accuracies.set(model.id, await testAccuracy(model.id));
    const round: ProductRound = {
      labels,
      test_accuracy: +accuracies.get(model.id)!.toFixed(4),
      model: model.number,
      promoted_this_round: job.result?.promoted === true,
      holdout_rows: model.metrics?.holdoutRows ?? null,
      label_s: +((labeled - roundStarted) / 1000).toFixed(1),
      train_s: +((trained - labeled) / 1000).toFixed(1),
      rank_s: +((rankedAt - trained) / 1000).toFixed(1),
    };
    run.labels.push(labels);
    run.accuracy.push(round.test_accuracy);
    run.rounds.push(round);
    run.backend = model.backend;
    onRound(round);
  }
  const settings = await api(baseUrl, 'GET', `/v1/projects/${projectId}`);
  run.project = {
    holdoutFraction: settings.holdoutFraction,
    acquisitionSpec: settings.acquisitionSpec,
    modelSpec: settings.modelSpec,
  };
  return run;
}
