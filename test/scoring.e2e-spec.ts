import { TasksRepository } from '@labelloop/db';
import { JobQueues, type ScoringJobData } from '@labelloop/queue';
import type { Job } from 'bullmq';
import { ScoringProcessor } from '../apps/scorer/src/scoring.processor';
import { TrainingProcessor } from '../apps/trainer/src/training.processor';
import { createKey, createProject, startTestApp, type TestApp } from './support/app';

// The loop end to end: a promoted model makes the scorer (same process, role all) rank the unlabeled pool,
// and tasks/next then hands out the items nearest the decision boundary with the model's guess.
describe('scoring', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu', COLD_START_QUEUE_SIZE: '20' });
  });
  afterAll(() => t.close());

  /** Deterministic jitter in [-0.5, 0.5). */
  const jitter = (i: number) => ((i * 7919) % 1000) / 1000 - 0.5;

  /**
   * Two clusters around x = -2 (neg) and x = +2 (pos), labeled; the unlabeled pool spreads x over [-3, 3],
   * so |x| is how unambiguous an item is (the band around 0 is the hard part).
   */
  const labeled = Array.from({ length: 40 }, (_, i) => {
    const label = i % 2 === 0 ? 'neg' : 'pos';
    const x = (label === 'neg' ? -2 : 2) + jitter(i);
    return { externalId: `lab-${i}`, features: [x, jitter(i + 500)], label };
  });
  const poolX = new Map<string, number>();
  const unlabeled = Array.from({ length: 150 }, (_, i) => {
    const x = -3 + (6 * ((i * 53) % 150)) / 149;
    poolX.set(`pool-${i}`, x);
    return { externalId: `pool-${i}`, features: [x, jitter(i + 900)] };
  });

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function finishedScoring(projectId: string) {
    return waitFor('scoring', async () => {
      const jobs = await t.app.get(JobQueues).scoring.getJobs(['completed', 'failed']);
      return jobs.find((job) => job.data.projectId === projectId);
    });
  }

  it('ranks the pool after a promotion and hands out uncertain items with pre-labels', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0.2,
      seed: 11,
      modelSpec: { architecture: 'linear', epochs: 30, learningRate: 0.05 },
      // The ranked part of the queue alone: no lease share for holdout items (test/queue-sampling.e2e-spec.ts).
      acquisitionSpec: { batchSize: 30, holdoutShare: 0 },
    });
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, [...labeled, ...unlabeled]);
    expect(imported.body).toMatchObject({ created: 190 });
    expect((await t.call('POST', `/v1/projects/${projectId}/train`)).status).toBe(202);

    const scoring = await finishedScoring(projectId);
    expect(scoring.failedReason).toBeUndefined();
    const [model] = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    expect(model).toMatchObject({ promoted: true });
    expect(scoring.returnvalue).toMatchObject({ modelVersionId: model.id, queued: 30 });
    expect(scoring.returnvalue.timings).toEqual({
      loadMs: expect.any(Number),
      scoreMs: expect.any(Number),
      chooseMs: expect.any(Number),
      rewriteMs: expect.any(Number),
    });
    // The suspects refresh of the model was asked for by the scoring, after the queue was rewritten.
    const [suspects] = (await t.app.get(JobQueues).suspects.getJobs()).filter(
      (job) => job?.data.projectId === projectId,
    );
    expect(suspects.data).toEqual({ projectId, modelVersionId: model.id });
    expect(suspects.timestamp).toBeGreaterThanOrEqual(scoring.processedOn!);
    expect(scoring.progress).toEqual({ scored: scoring.returnvalue.scored });

    // A prediction for every unlabeled pool item, by the promoted model.
    const [coverage] = await t.db.query<{ pool: number; predicted: number }>(
      `SELECT count(*)::int AS pool, count(p.id)::int AS predicted FROM items i
       LEFT JOIN predictions p ON p.item_id = i.id AND p.model_version_id = $2
       WHERE i.project_id = $1 AND i.split = 'pool' AND i.label IS NULL`,
      [projectId, model.id],
    );
    expect(coverage.pool).toBeGreaterThan(100);
    expect(coverage).toEqual({ pool: coverage.pool, predicted: coverage.pool });
    expect(scoring.returnvalue.scored).toBe(coverage.pool);

    // The model owns the queue now and it is full (30 = the batch size): a top-up adds nothing.
    expect(await t.app.get(TasksRepository).topUpQueue(projectId, 30)).toBe(0);

    const annotator = await createKey(t, 'annotator', projectId);
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=5`, undefined, annotator);
    expect(next.status).toBe(200);
    expect(next.body.data).toHaveLength(5);
    for (const task of next.body.data) {
      expect(['neg', 'pos']).toContain(task.preLabel.label);
      expect(task.preLabel.probability).toBeGreaterThanOrEqual(0.5);
      expect(task.preLabel.probability).toBeLessThanOrEqual(1);
    }
    const predictions = await t.db.query<{ external_id: string; uncertainty: number }>(
      `SELECT i.external_id, p.uncertainty FROM predictions p JOIN items i ON i.id = p.item_id
       WHERE p.project_id = $1 ORDER BY p.uncertainty DESC`,
      [projectId],
    );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const handedOut = next.body.data.map((task: { externalId: string }) => task.externalId) as string[];
    // The first task is the most uncertain item of the pool; the first five sit nearer the boundary than the pool.
    expect(handedOut[0]).toBe(predictions[0].external_id);
    const uncertainty = new Map(predictions.map((p) => [p.external_id, p.uncertainty]));
    expect(mean(handedOut.map((id) => uncertainty.get(id)!))).toBeGreaterThan(
      mean(predictions.map((p) => p.uncertainty)),
    );
    const ambiguity = (id: string) => Math.abs(poolX.get(id)!);
    expect(mean(handedOut.map(ambiguity))).toBeLessThan(
      mean(predictions.map((p) => ambiguity(p.external_id))) / 2,
    );

    // A rescoring leaves leased tasks as they are (owner, lease, pre-label) and keeps the queue at its size.
    const leasedBefore = await t.db.query(
      `SELECT id, status, lease_owner, lease_expires_at, pre_label, priority FROM tasks
       WHERE project_id = $1 AND status = 'leased' ORDER BY id`,
      [projectId],
    );
    expect(leasedBefore).toHaveLength(5);
    const rescored = await t.app.get(ScoringProcessor).rescore({
      data: { projectId, modelVersionId: model.id },
      updateProgress: async () => undefined,
    } as unknown as Job<ScoringJobData>);
    expect(rescored).toMatchObject({ modelVersionId: model.id, scored: coverage.pool });
    const leasedAfter = await t.db.query(
      `SELECT id, status, lease_owner, lease_expires_at, pre_label, priority FROM tasks
       WHERE project_id = $1 AND status = 'leased' ORDER BY id`,
      [projectId],
    );
    expect(leasedAfter).toEqual(leasedBefore);
    const [queue] = await t.db.query<{ open: number; labeled: number }>(
      `SELECT count(*) FILTER (WHERE t.status IN ('open', 'leased'))::int AS open,
              count(*) FILTER (WHERE t.status = 'open' AND i.label IS NOT NULL)::int AS labeled
       FROM tasks t JOIN items i ON i.id = t.item_id WHERE t.project_id = $1`,
      [projectId],
    );
    expect(queue).toEqual({ open: 30, labeled: 0 });
  }, 120_000);

  it('fills a class-balanced queue with the MC-dropout margin strategy', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0.2,
      seed: 12,
      modelSpec: { architecture: 'linear', epochs: 30, learningRate: 0.05, dropout: 0.2 },
      acquisitionSpec: { strategy: 'mc_margin', classBalanced: true, diversity: false, batchSize: 20 },
    });
    expect((await t.call('GET', `/v1/projects/${projectId}`)).body.acquisitionSpec).toMatchObject({
      strategy: 'mc_margin',
      classBalanced: true,
    });
    await t.call('POST', `/v1/projects/${projectId}/items`, [...labeled, ...unlabeled]);
    expect((await t.call('POST', `/v1/projects/${projectId}/train`)).status).toBe(202);
    const scoring = await finishedScoring(projectId);
    expect(scoring.failedReason).toBeUndefined();
    const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs?queue=scoring`);
    expect(jobs.body.data).toEqual([
      expect.objectContaining({
        id: scoring.id,
        queue: 'scoring',
        state: 'completed',
        modelVersionId: (scoring.data as ScoringJobData).modelVersionId,
        reason: null,
        progress: { scored: scoring.returnvalue.scored },
      }),
    ]);
    expect((await t.call('GET', `/v1/projects/${projectId}/jobs?queue=mail`)).status).toBe(400);
    const perClass = await t.db.query<{ pre_label: string; n: number }>(
      `SELECT pre_label, count(*)::int AS n FROM tasks
       WHERE project_id = $1 AND status = 'open' AND NOT holdout GROUP BY pre_label ORDER BY pre_label`,
      [projectId],
    );
    // Dealt round-robin over the predicted classes: as many pre-labeled neg as pos (the ranked part of the queue;
    // the holdout's part has no pre-labels).
    expect(perClass).toEqual([
      { pre_label: 'neg', n: 10 },
      { pre_label: 'pos', n: 10 },
    ]);
  }, 120_000);

  it('trains by itself when the labels since the last training reach the threshold', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      seed: 5,
      modelSpec: { architecture: 'linear', epochs: 5 },
      acquisitionSpec: { retrainThreshold: 5 },
    });
    await t.call('POST', `/v1/projects/${projectId}/items`, unlabeled.slice(0, 20));
    const annotator = await createKey(t, 'annotator', projectId);
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=5`, undefined, annotator);
    expect(next.body.data).toHaveLength(5);
    const jobs = async () => (await t.call('GET', `/v1/projects/${projectId}/jobs`)).body.data;
    const labelOf = (task: { externalId: string }) => (poolX.get(task.externalId)! < 0 ? 'neg' : 'pos');
    // Four labels through tasks, the fifth as an item annotation: both count.
    const [last, ...first] = next.body.data;
    for (const task of first) {
      expect(await jobs()).toEqual([]);
      const written = await t.call(
        'POST',
        `/v1/tasks/${task.id}/annotation`,
        { label: labelOf(task) },
        annotator,
      );
      expect(written.status).toBe(201);
    }
    expect(await jobs()).toEqual([]);
    const written = await t.call('POST', `/v1/items/${last.itemId}/annotations`, { label: labelOf(last) });
    expect(written.status).toBe(201);
    expect(await jobs()).toEqual([expect.objectContaining({ reason: 'threshold', requestedBy: null })]);
  }, 60_000);

  it('asks for a scoring only when the trained model is promoted', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0.3,
      seed: 12,
      modelSpec: { architecture: 'linear', epochs: 5, learningRate: 0.05 },
    });
    await t.call('POST', `/v1/projects/${projectId}/items`, [...labeled, ...unlabeled.slice(0, 10)]);
    const train = (id: string) =>
      t.app.get(TrainingProcessor).process({
        id,
        data: { projectId, reason: 'manual' },
        updateProgress: async () => undefined,
      } as unknown as Job);
    const scoringJobs = async () =>
      (await t.app.get(JobQueues).scoring.getJobs()).filter((job) => job?.data.projectId === projectId);

    expect(await train(`promoted-${projectId}`)).toMatchObject({ promoted: true });
    await finishedScoring(projectId);
    // Nothing can beat a promoted accuracy of 2.
    await t.db.query(
      `UPDATE model_versions SET metrics = jsonb_set(metrics, '{accuracy}', '2') WHERE project_id = $1`,
      [projectId],
    );
    expect(await train(`kept-${projectId}`)).toMatchObject({ promoted: false });
    expect(await scoringJobs()).toHaveLength(1);
  }, 60_000);
});
