import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { createKey, startTestApp, type TestApp } from './support/app';
import {
  features,
  labeledRows,
  modelProject,
  scoringSettled,
  trainAndWait,
  unlabeledRows,
} from './support/models';

// The model registry over the API: list and get model versions, promote an older one (rollback) and see
// the scorer rank the pool with it, and ad-hoc predictions with their limits.
describe('model registry', () => {
  let t: TestApp;
  let projectId: string;
  let first: { id: string; number: number };
  let second: { id: string; number: number };

  const unlabeled = unlabeledRows(30);

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu', COLD_START_QUEUE_SIZE: '10' });
    projectId = await modelProject(t);
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, [
      ...labeledRows(60),
      ...unlabeled,
    ]);
    expect(imported.body).toMatchObject({ created: 90 });
    await trainAndWait(t, projectId);
    await trainAndWait(t, projectId);
    const models = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    [second, first] = models;
  }, 120_000);
  afterAll(() => t.close());

  it('lists model versions newest first, page by page, and gets one with its provenance', async () => {
    const page1 = await t.call('GET', `/v1/projects/${projectId}/models?limit=1`);
    expect(page1.status).toBe(200);
    expect(page1.body).toMatchObject({ data: [{ id: second.id, number: 2 }], nextCursor: 2 });
    const page2 = await t.call('GET', `/v1/projects/${projectId}/models?limit=1&cursor=2`);
    expect(page2.body).toMatchObject({ data: [{ id: first.id, number: 1 }], nextCursor: null });

    const got = await t.call('GET', `/v1/models/${first.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: first.id,
      projectId,
      number: 1,
      status: 'ready',
      source: 'trained',
      origin: null,
      backend: 'cpu',
      datasetVersion: 1,
      datasetVersionId: expect.any(String),
      spec: { architecture: 'linear', seed: 5 },
      trainMs: expect.any(Number),
      artifactKey: `projects/${projectId}/models/${first.id}`,
    });
    expect(got.body.metrics.accuracy).toEqual(expect.any(Number));
    expect(got.body.metrics.holdoutRows).toBeGreaterThan(0);

    expect((await t.call('GET', '/v1/models/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await t.call('GET', '/v1/models/not-a-uuid')).status).toBe(404);
    const otherProject = await modelProject(t);
    const scoped = await createKey(t, 'viewer', otherProject);
    const forbidden = await t.call('GET', `/v1/models/${first.id}`, undefined, scoped);
    expect(forbidden.status).toBe(403);
  });

  it('promotes an older model (rollback) and the scorer ranks the pool with it', async () => {
    // Training the same labels twice promotes the second (at least as accurate).
    expect((await t.call('GET', `/v1/models/${second.id}`)).body.promoted).toBe(true);
    const annotator = await createKey(t, 'annotator', projectId);
    expect((await t.call('POST', `/v1/models/${first.id}/promote`, undefined, annotator)).status).toBe(403);
    await scoringSettled(t, projectId);

    const promoted = await t.call('POST', `/v1/models/${first.id}/promote`);
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ id: first.id, promoted: true, scoringJobId: expect.any(String) });
    const models = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    expect(models.map((m: { number: number; promoted: boolean }) => [m.number, m.promoted])).toEqual([
      [2, false],
      [1, true],
    ]);

    const scoring = await scoringSettled(t, projectId);
    expect(scoring.failedReason).toBeUndefined();
    // Every unlabeled pool item (the holdout's are never scored).
    const [pool] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM items WHERE project_id = $1 AND split = 'pool' AND label IS NULL`,
      [projectId],
    );
    expect(scoring.returnvalue).toMatchObject({ modelVersionId: first.id, scored: pool.n });
    const [byModel] = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM predictions WHERE project_id = $1 AND model_version_id = $2',
      [projectId, first.id],
    );
    expect(byModel.n).toBe(pool.n);
    const tasks = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=3`);
    expect(tasks.body.data).toHaveLength(3);
    const holdout = new Set(
      (
        await t.db.query<{ id: string }>(`SELECT id FROM items WHERE project_id = $1 AND split = 'holdout'`, [
          projectId,
        ])
      ).map((row) => row.id),
    );
    for (const task of tasks.body.data) {
      // Holdout items get their share of the lease, without a pre-label.
      if (holdout.has(task.itemId)) expect(task.preLabel).toBeNull();
      else expect(['neg', 'pos']).toContain(task.preLabel.label);
    }

    expect((await t.call('POST', '/v1/models/00000000-0000-4000-8000-000000000000/promote')).status).toBe(
      404,
    );
  }, 90_000);

  it('predicts ad-hoc inputs exactly as the scorer scored the same content', async () => {
    const store = t.app.get<ObjectStore>(OBJECT_STORE);
    const reads = jest.spyOn(store, 'get');
    const artifactReads = () =>
      reads.mock.calls.filter(([key]) => key.startsWith(`projects/${projectId}/models/${first.id}/`)).length;
    // An unlabeled pool item, which the scorer scored.
    const [{ external_id: scoredId }] = await t.db.query<{ external_id: string }>(
      `SELECT external_id FROM items WHERE project_id = $1 AND split = 'pool' AND label IS NULL
       ORDER BY external_id LIMIT 1`,
      [projectId],
    );
    const response = await t.call('POST', `/v1/models/${first.id}/predict`, {
      inputs: [
        { features: unlabeled.find((row) => row.externalId === scoredId)!.features },
        { features: features(7, 'neg') },
        { features: features(8, 'pos') },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.model).toEqual({ id: first.id, number: 1 });
    expect(response.body.labels).toEqual(['neg', 'pos']);
    const [pool, neg, pos] = response.body.predictions;
    for (const p of [pool, neg, pos]) {
      expect(p.probabilities[0] + p.probabilities[1]).toBeCloseTo(1, 5);
      expect(p.probability).toBe(Math.max(...p.probabilities));
    }
    expect(neg.label).toBe('neg');
    expect(pos.label).toBe('pos');
    const [stored] = await t.db.query<{ probabilities: number[] }>(
      `SELECT p.probabilities FROM predictions p JOIN items i ON i.id = p.item_id
       WHERE i.project_id = $1 AND i.external_id = $3 AND p.model_version_id = $2`,
      [projectId, first.id, scoredId],
    );
    stored.probabilities.forEach((value, c) => expect(pool.probabilities[c]).toBeCloseTo(value, 5));

    // The scorer already loaded the model into this process's inference worker, whose cache serving shares:
    // predictions read no artifact file (at most the three files once, had the cache lost it).
    expect([0, 3]).toContain(artifactReads());
    const readsBefore = artifactReads();
    const cached = await t.call('POST', `/v1/models/${first.id}/predict`, { inputs: [{ features: [1, 2] }] });
    expect(cached.status).toBe(200);
    expect(artifactReads()).toBe(readsBefore);
    reads.mockRestore();

    const viewer = await createKey(t, 'viewer', projectId);
    const many = Array.from({ length: 1000 }, (_, i) => ({ features: features(i) }));
    const full = await t.call('POST', `/v1/models/${second.id}/predict`, { inputs: many }, viewer);
    expect(full.status).toBe(200);
    expect(full.body.predictions).toHaveLength(1000);
  }, 60_000);

  it('refuses bad predict requests with the reason', async () => {
    const predict = (body: unknown, id = first.id) => t.call('POST', `/v1/models/${id}/predict`, body);
    const tooMany = await predict({ inputs: Array.from({ length: 1001 }, () => ({ features: [1] })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.message).toContain('at most 1000 inputs per call');
    expect((await predict({ inputs: [] })).status).toBe(400);
    expect((await predict({})).status).toBe(400);

    const named = await predict({
      inputs: [{ features: [1, 2] }, { externalId: 'a', features: [1] }, { text: 'not a tabular input' }],
    });
    expect(named.status).toBe(400);
    expect(named.body.details).toEqual(
      expect.arrayContaining([
        { field: 'inputs.1.externalId', reason: 'not allowed here' },
        expect.objectContaining({ field: expect.stringMatching(/^inputs\.2/) }),
      ]),
    );
    expect(named.body.details.some((d: { field: string }) => d.field.startsWith('inputs.0'))).toBe(false);

    const unknown = await predict({ inputs: [{ features: [1] }] }, '00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('not found');
    expect(
      (await t.call('POST', `/v1/models/${first.id}/predict`, { inputs: [{ features: [1] }] }, null)).status,
    ).toBe(401);
  });

  it('validates the training pins', async () => {
    const missing = await t.call('POST', `/v1/projects/${projectId}/train`, { datasetVersion: 99 });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('dataset version 99 not found');
    const bad = await t.call('POST', `/v1/projects/${projectId}/train`, { seed: -1, extra: true });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['(root)', 'seed']);
  });
});
