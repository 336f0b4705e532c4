import { shouldPromote } from '@labelloop/db';
import { JobQueues, type ScoringJobData } from '@labelloop/queue';
import { assignSplit } from '../apps/api/src/items/deterministic';
import { DIGITS, importShape, type MnistItem, mnistItems } from '../bench/support/mnist-items';
import { createKey, createProject, startTestApp, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';

// The whole loop on real data, everything real (PostgreSQL, Redis, s3rver; API, trainer and scorer in this
// process): annotators label MNIST through the REST API with the true labels as the oracle; every ROUND
// labels the project retrains by itself, promotes, rescores the pool and refills the queue with the items the
// model is least sure of, each with its guess as a pre-label.
describe('the active-learning loop on MNIST', () => {
  const POOL = 2000;
  const HOLDOUT = 500;
  const ROUNDS = 5;
  const ROUND = 60;
  const SEED = 3;
  const HOLDOUT_FRACTION = 0.2;
  let t: TestApp;

  beforeAll(async () => {
    // wasm ships in the npm package (no native download) and trains ~20x faster than the cpu backend.
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'wasm', COLD_START_QUEUE_SIZE: '100' });
  });
  afterAll(() => t.close());

  /** MNIST training images whose external ids the project's seeded split puts exactly POOL in the pool and HOLDOUT in the holdout. */
  function splitItems(): { pool: MnistItem[]; holdout: MnistItem[] } {
    const pool: MnistItem[] = [];
    const holdout: MnistItem[] = [];
    for (const item of mnistItems('train', 0, 4000)) {
      const side = assignSplit(SEED, item.externalId, HOLDOUT_FRACTION) === 'holdout' ? holdout : pool;
      if (side.length < (side === pool ? POOL : HOLDOUT)) side.push(item);
    }
    if (pool.length < POOL || holdout.length < HOLDOUT)
      throw new Error('not enough MNIST images for the split');
    return { pool, holdout };
  }

  async function importItems(projectId: string, items: object[]): Promise<void> {
    // Chunks keep each JSON body well under BODY_LIMIT_BYTES (an image is ~3 KB of JSON).
    for (let i = 0; i < items.length; i += 500) {
      const chunk = items.slice(i, i + 500);
      const response = await t.call('POST', `/v1/projects/${projectId}/items`, chunk);
      expect(response.body).toMatchObject({ created: chunk.length });
    }
  }

  interface Model {
    id: string;
    number: number;
    status: string;
    promoted: boolean;
    metrics: { accuracy: number; holdoutRows: number; trainRows: number };
  }

  /** The round's model once it is trained and, when promoted, once its scoring has rewritten the queue. */
  async function settledModel(projectId: string, number: number): Promise<Model> {
    const model = await waitFor(`model ${number}`, async () => {
      const models = await t.call('GET', `/v1/projects/${projectId}/models`);
      const found = (models.body.data as Model[]).find((m) => m.number === number);
      if (found?.status === 'failed') throw new Error(`model ${number} failed: ${JSON.stringify(found)}`);
      return found?.status === 'ready' ? found : undefined;
    });
    if (model.promoted) {
      const scoring = await waitFor(`scoring of model ${number}`, async () => {
        const jobs = await t.app.get(JobQueues).scoring.getJobs(['completed', 'failed']);
        return jobs.find(
          (job) =>
            job.data.projectId === projectId && (job.data as ScoringJobData).modelVersionId === model.id,
        );
      });
      expect(scoring.failedReason).toBeUndefined();
      expect(scoring.returnvalue).toMatchObject({ modelVersionId: model.id });
    }
    return model;
  }

  interface LeasedTask {
    id: string;
    itemId: string;
    externalId: string;
    preLabel: { label: string } | null;
    /** The annotator key that holds the lease. */
    key: string;
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it('learns from labels given through the API: accuracy rises, the queue asks for uncertain items, pre-labels are right as often as the model', async () => {
    const { pool, holdout } = splitItems();
    const truth = new Map([...pool, ...holdout].map((item) => [item.externalId, item.truth]));
    const projectId = await createProject(t, {
      name: 'mnist loop',
      inputKind: 'image',
      labels: [...DIGITS],
      holdoutFraction: HOLDOUT_FRACTION,
      seed: SEED,
      // A small MLP keeps five trainings (and their suspects k-folds) within the test's time on two cores.
      modelSpec: { architecture: 'mlp', hiddenUnits: [64], epochs: 20, learningRate: 0.003, patience: 3 },
      acquisitionSpec: { strategy: 'margin', diversity: true, batchSize: ROUND, retrainThreshold: ROUND },
    });
    // The holdout is labeled data: it arrives with its labels; the pool arrives unlabeled.
    await importItems(projectId, [
      ...holdout.map((item) => importShape(item, true)),
      ...pool.map((item) => importShape(item)),
    ]);
    const [split] = await t.db.query<{ pool: number; holdout: number; labeled_holdout: number }>(
      `SELECT count(*) FILTER (WHERE split = 'pool')::int AS pool, count(*) FILTER (WHERE split = 'holdout')::int AS holdout,
              count(*) FILTER (WHERE split = 'holdout' AND label IS NOT NULL)::int AS labeled_holdout
       FROM items WHERE project_id = $1`,
      [projectId],
    );
    expect(split).toEqual({ pool: POOL, holdout: HOLDOUT, labeled_holdout: HOLDOUT });
    const annotators = [
      await createKey(t, 'annotator', projectId, 'ann-1'),
      await createKey(t, 'annotator', projectId, 'ann-2'),
    ];

    const models: Model[] = [];
    const handedOut: {
      round: number;
      uncertainty: number;
      sampleUncertainty: number;
      preLabelAgreement: number;
    }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Two annotators lease 30 tasks each and label them with the truth.
      const leased: LeasedTask[] = [];
      for (const key of annotators) {
        const next = await t.call(
          'GET',
          `/v1/projects/${projectId}/tasks/next?limit=${ROUND / 2}`,
          undefined,
          key,
        );
        expect(next.status).toBe(200);
        leased.push(...next.body.data.map((task: Omit<LeasedTask, 'key'>) => ({ ...task, key })));
      }
      expect(leased).toHaveLength(ROUND);
      expect(new Set(leased.map((task) => task.itemId)).size).toBe(ROUND);
      if (round > 1) {
        // After a training the queue is the model's: uncertain items, each with the model's guess.
        for (const task of leased) expect(DIGITS).toContain(task.preLabel?.label);
        const scoredBy = models.filter((m) => m.promoted).at(-1)!.id;
        const uncertainty = await t.db.query<{ uncertainty: number }>(
          `SELECT uncertainty FROM predictions WHERE item_id = ANY($1::uuid[]) AND model_version_id = $2`,
          [leased.map((task) => task.itemId), scoredBy],
        );
        expect(uncertainty).toHaveLength(ROUND);
        // A random sample of the unlabeled pool as scored by the same model.
        const sample = await t.db.query<{ uncertainty: number }>(
          `SELECT p.uncertainty FROM predictions p JOIN items i ON i.id = p.item_id
           WHERE p.project_id = $1 AND i.label IS NULL AND p.model_version_id = $2
           ORDER BY md5(i.external_id || $3) LIMIT 200`,
          [projectId, scoredBy, String(round)],
        );
        expect(sample).toHaveLength(200);
        handedOut.push({
          round,
          uncertainty: mean(uncertainty.map((row) => row.uncertainty)),
          sampleUncertainty: mean(sample.map((row) => row.uncertainty)),
          preLabelAgreement: mean(
            leased.map((task) => (task.preLabel!.label === truth.get(task.externalId) ? 1 : 0)),
          ),
        });
      }
      for (const task of leased) {
        const answer = await t.call(
          'POST',
          `/v1/tasks/${task.id}/annotation`,
          { label: truth.get(task.externalId), leadTimeMs: 1000 },
          task.key,
        );
        expect(answer.status).toBe(201);
      }
      models.push(await settledModel(projectId, round));
    }

    // Five trainings by themselves (no POST /train), each on the round's labels, evaluated on the whole holdout.
    const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs`);
    expect(jobs.body.data.map((job: { reason: string; state: string }) => [job.reason, job.state])).toEqual(
      Array(ROUNDS).fill(['threshold', 'completed']),
    );
    expect(models.map((m) => m.metrics.holdoutRows)).toEqual(Array(ROUNDS).fill(HOLDOUT));
    expect(models.map((m) => m.metrics.trainRows)).toEqual(models.map((_, i) => (i + 1) * ROUND));
    // Each model is promoted exactly when the holdout does not say it is worse than the one promoted before it.
    let promotedScore: { accuracy: number; rows: number } | undefined;
    for (const model of models) {
      const score = { accuracy: model.metrics.accuracy, rows: model.metrics.holdoutRows };
      expect(model.promoted).toBe(shouldPromote(score, promotedScore));
      if (model.promoted) promotedScore = score;
    }
    expect(models.at(-1)!.metrics.accuracy).toBeGreaterThan(models[0].metrics.accuracy + 0.05);

    // Handed out after a training: far more uncertain than the pool at large.
    for (const round of handedOut) expect(round.uncertainty).toBeGreaterThan(round.sampleUncertainty + 0.2);

    // The final queue: every open task carries the promoted model's guess for its item.
    const promoted = models.filter((m) => m.promoted).at(-1)!;
    const [queue] = await t.db.query<{ open: number; guessed: number }>(
      `SELECT count(*)::int AS open, count(*) FILTER (WHERE t.pre_label = p.label AND p.model_version_id = $2)::int AS guessed
       FROM tasks t LEFT JOIN predictions p ON p.item_id = t.item_id WHERE t.project_id = $1 AND t.status = 'open'`,
      [projectId, promoted.id],
    );
    expect(queue.open).toBeGreaterThanOrEqual(ROUND);
    expect(queue.guessed).toBe(queue.open);
    // Over the unlabeled pool the guesses are right about as often as the model is on the holdout (the pool is
    // a little easier by now: active learning took its hardest items out).
    const guesses = await t.db.query<{ external_id: string; label: string }>(
      `SELECT i.external_id, p.label FROM items i JOIN predictions p ON p.item_id = i.id AND p.model_version_id = $2
       WHERE i.project_id = $1 AND i.split = 'pool' AND i.label IS NULL`,
      [projectId, promoted.id],
    );
    expect(guesses).toHaveLength(POOL - ROUNDS * ROUND);
    const poolAgreement = mean(guesses.map((row) => (row.label === truth.get(row.external_id) ? 1 : 0)));
    expect(Math.abs(poolAgreement - promoted.metrics.accuracy)).toBeLessThan(0.08);
    // The pre-labels annotators saw were the items the model was least sure of: right well above chance (1 in
    // 10), yet less often than on the holdout at large.
    const shownAgreement = mean(handedOut.map((round) => round.preLabelAgreement));
    expect(shownAgreement).toBeGreaterThan(0.25);
    expect(shownAgreement).toBeLessThan(promoted.metrics.accuracy);
  }, 600_000);
});
