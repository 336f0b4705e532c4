import { startTestApp, type TestApp } from './support/app';
import { features, labeledRows, modelProject, trainAndWait } from './support/models';

// Reproducible runs: retraining on a frozen dataset version with the same seed on the cpu backend gives the
// same holdout metrics and the same model, even after the labels moved on.
describe('retraining from a dataset version', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu' });
  });
  afterAll(() => t.close());

  const model = async (number: number, projectId: string) => {
    const models = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    return models.find((m: { number: number }) => m.number === number);
  };

  it('reproduces the holdout metrics and predictions of a run', async () => {
    const projectId = await modelProject(t, { seed: 21 });
    await t.call('POST', `/v1/projects/${projectId}/items`, labeledRows(60));
    await trainAndWait(t, projectId);
    // The labels move on: more rows, some flipped, and a second version.
    const flipped = labeledRows(80).map((row, i) => (i % 9 === 0 ? { ...row, label: 'neg' } : row));
    await t.call('POST', `/v1/projects/${projectId}/items`, flipped.slice(60));
    await trainAndWait(t, projectId);

    const pinned = await trainAndWait(t, projectId, { datasetVersion: 1, seed: 21 });
    expect(pinned).toMatchObject({ datasetVersion: 1, seed: 21 });
    await trainAndWait(t, projectId, { datasetVersion: 1, seed: 21 });
    await trainAndWait(t, projectId, { datasetVersion: 1, seed: 22 });

    const [original, moved, again, twice, otherSeed] = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => model(n, projectId)),
    );
    expect([original, moved, again, twice, otherSeed].map((m) => m.datasetVersion)).toEqual([1, 2, 1, 1, 1]);
    expect(otherSeed.spec.seed).toBe(22);
    expect(original.metrics.holdoutRows).toBeGreaterThan(0);
    expect(moved.metrics.trainRows).toBeGreaterThan(original.metrics.trainRows);
    expect(again.metrics).toEqual(original.metrics);
    expect(twice.metrics).toEqual(original.metrics);
    expect(again.spec).toEqual(original.spec);

    // No dataset version was frozen for the pinned runs.
    const versions = await t.db.query(
      'SELECT number FROM dataset_versions WHERE project_id = $1 ORDER BY 1',
      [projectId],
    );
    expect(versions).toEqual([{ number: 1 }, { number: 2 }]);

    // The same weights: identical probabilities on inputs never seen.
    const inputs = Array.from({ length: 20 }, (_, i) => ({ features: features(1000 + i) }));
    const [a, b] = await Promise.all(
      [original.id, again.id].map((id) => t.call('POST', `/v1/models/${id}/predict`, { inputs })),
    );
    expect(a.status).toBe(200);
    expect(b.body.predictions).toEqual(a.body.predictions);
  }, 120_000);
});
