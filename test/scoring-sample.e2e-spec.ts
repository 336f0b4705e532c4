import { TasksRepository } from '@labelloop/db';
import { ScoringPipeline } from '@labelloop/pipeline';
import { JobQueues } from '@labelloop/queue';
import { createProject, startTestApp, type TestApp } from './support/app';

// A ranking pass is bounded: with SCORING_SAMPLE_ITEMS = 60 it scores at most 60 unlabeled pool items, those
// without a prediction first, then a random sample of the rest, so passes cover a large pool in turn. A lease
// that finds the queue short meanwhile is served from unscored items once the predictions run out.
describe('bounded ranking pass', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      LABELLOOP_ROLE: 'all',
      ML_BACKEND: 'cpu',
      COLD_START_QUEUE_SIZE: '20',
      SCORING_SAMPLE_ITEMS: '60',
    });
  });
  afterAll(() => t.close());

  const jitter = (i: number) => ((i * 7919) % 1000) / 1000 - 0.5;
  const labeled = Array.from({ length: 30 }, (_, i) => {
    const label = i % 2 === 0 ? 'neg' : 'pos';
    return { externalId: `lab-${i}`, features: [(label === 'neg' ? -2 : 2) + jitter(i)], label };
  });
  const unlabeled = Array.from({ length: 150 }, (_, i) => ({
    externalId: `pool-${i}`,
    features: [-3 + (6 * ((i * 53) % 150)) / 149],
  }));

  async function promotedModel(projectId: string): Promise<string> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const models = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data as {
        id: string;
        promoted: boolean;
      }[];
      const promoted = models.find((m) => m.promoted);
      if (promoted) return promoted.id;
      if (Date.now() > deadline) throw new Error('no promoted model');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  const predicted = async (projectId: string) =>
    (
      await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM predictions WHERE project_id = $1`, [
        projectId,
      ])
    )[0].n;

  it('scores at most the sample, items without a prediction first, and ranks the queue among them', async () => {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0,
      seed: 5,
      modelSpec: { architecture: 'linear', epochs: 10 },
      acquisitionSpec: { batchSize: 20 },
    });
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, [...labeled, ...unlabeled]);
    expect(imported.body).toMatchObject({ created: 180 });
    // Stop the scorer from racing the passes below: the test runs them itself.
    await t.app.get(JobQueues).scoring.pause();
    expect((await t.call('POST', `/v1/projects/${projectId}/train`)).status).toBe(202);
    const modelId = await promotedModel(projectId);
    const scoring = t.app.get(ScoringPipeline);

    // 150 items without a prediction: each pass takes 60 of them until none is left.
    const first = await scoring.rescore(projectId, () => undefined);
    expect(first).toMatchObject({ modelVersionId: modelId, scored: 60, queued: 20 });
    expect(await predicted(projectId)).toBe(60);

    // Labelers outrunning the scorer: a top-up to 100 takes the 40 scored items without a task, then 40 items
    // without a prediction (cold-start order, below every scored task) rather than leaving the queue short.
    expect(await t.app.get(TasksRepository).topUpQueue(projectId, 100)).toBe(80);
    const [fill] = await t.db.query<{ ranked: number; unscored: number }>(
      `SELECT count(*) FILTER (WHERE priority >= 0)::int AS ranked, count(*) FILTER (WHERE priority < 0)::int AS unscored
       FROM tasks WHERE project_id = $1 AND status = 'open'`,
      [projectId],
    );
    expect(fill).toEqual({ ranked: 60, unscored: 40 });

    expect((await scoring.rescore(projectId, () => undefined)).scored).toBe(60);
    expect(await predicted(projectId)).toBe(120);
    // 30 left without a prediction, then 30 drawn among the 120 scored ones.
    const [{ before }] = await t.db.query<{ before: Date }>(`SELECT clock_timestamp() AS before`);
    expect((await scoring.rescore(projectId, () => undefined)).scored).toBe(60);
    expect(await predicted(projectId)).toBe(150);
    const [fresh] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM predictions WHERE project_id = $1 AND created_at >= $2`,
      [projectId, before],
    );
    expect(fresh.n).toBe(60);

    // The open queue: 20 items, all among the 60 the last pass scored.
    const queue = await t.db.query<{ fresh: boolean }>(
      `SELECT p.created_at >= $2 AS fresh FROM tasks t
       JOIN predictions p ON p.item_id = t.item_id WHERE t.project_id = $1 AND t.status = 'open'`,
      [projectId, before],
    );
    expect(queue).toHaveLength(20);
    expect(queue.every((row) => row.fresh)).toBe(true);
  }, 120_000);
});
