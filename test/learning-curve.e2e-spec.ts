import { createKey, startTestApp, type TestApp } from './support/app';
import { labeledRows, modelProject, scoringSettled, trainAndWait, unlabeledRows } from './support/models';

interface CurvePoint {
  modelVersionId: string;
  modelVersion: number;
  labels: number;
  accuracy: number;
  holdoutRows: number;
  promoted: boolean;
  agreement: number | null;
  kappa: number | null;
}

// The learning curve of a project that retrains on more and more labels: its points, the forecast once there
// are enough of them, and the stop set's agreement between successive scored models.
describe('learning curve', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu' });
  });
  afterAll(() => t.close());

  const curve = (projectId: string, query = '') =>
    t.call('GET', `/v1/projects/${projectId}/learning-curve${query}`);

  // Every 7th label is wrong, so holdout accuracy is below 1 and moves from model to model.
  const rows = labeledRows(120).map((row, i) =>
    i % 7 === 3 ? { ...row, label: row.label === 'neg' ? 'pos' : 'neg' } : row,
  );

  /** Imports the labeled rows up to `count`, trains, and waits for the scoring of a promoted model. */
  async function trainOn(projectId: string, from: number, count: number) {
    await t.call('POST', `/v1/projects/${projectId}/items`, rows.slice(from, count));
    await trainAndWait(t, projectId);
    await scoringSettled(t, projectId);
  }

  it('returns the points in order, refuses a forecast below 4 label counts, then forecasts with an interval', async () => {
    const projectId = await modelProject(t, { seed: 31 });
    await t.call('POST', `/v1/projects/${projectId}/items`, unlabeledRows(150));

    const empty = await curve(projectId);
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ points: [], forecast: null, stop: { fired: false, stopSetSize: 0 } });
    expect(empty.body.reason).toMatch(/at least 4 different numbers of labels; there are 0/);

    await trainOn(projectId, 0, 30);
    const one = await curve(projectId);
    expect(one.body.points).toHaveLength(1);
    expect(one.body.points[0].agreement).toBeNull();
    expect(one.body.forecast).toBeNull();
    expect(one.body.reason).toMatch(/there is 1$/);
    // The stop set was chosen at the first ranking pass: every unlabeled pool item of this small pool.
    const [pool] = await t.db.query<{ unlabeled: number }>(
      `SELECT count(*)::int AS unlabeled FROM items WHERE project_id = $1 AND split = 'pool' AND label IS NULL`,
      [projectId],
    );
    expect(pool.unlabeled).toBeGreaterThan(50);
    expect(one.body.stop.stopSetSize).toBe(pool.unlabeled);

    await trainOn(projectId, 30, 50);
    const two = await curve(projectId);
    const [first, second] = two.body.points as CurvePoint[];
    expect(first.agreement).toBeNull();
    expect(second.agreement).toBeGreaterThan(0);
    expect(second.agreement).toBeLessThanOrEqual(1);
    expect(second.kappa).toEqual(expect.any(Number));
    expect(two.body.forecast).toBeNull();

    await trainOn(projectId, 50, 80);
    await trainOn(projectId, 80, 120);
    const four = await curve(projectId);
    expect(four.status).toBe(200);
    const points = four.body.points as CurvePoint[];
    expect(points.map((p) => p.modelVersion)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < points.length; i++) expect(points[i].labels).toBeGreaterThan(points[i - 1].labels);
    const models = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    for (const point of points) {
      const model = models.find((m: { id: string }) => m.id === point.modelVersionId);
      expect(point).toMatchObject({
        accuracy: model.metrics.accuracy,
        holdoutRows: model.metrics.holdoutRows,
        promoted: model.promoted,
      });
      expect(point.holdoutRows).toBeGreaterThan(0);
    }
    // Labels = labeled pool items of the version the model trained on.
    const [version] = await t.db.query<{ pool: number }>(
      `SELECT (d.counts ->> 'pool')::int AS pool FROM model_versions m JOIN dataset_versions d ON d.id = m.dataset_version_id
       WHERE m.id = $1`,
      [points[3].modelVersionId],
    );
    expect(points[3].labels).toBe(version.pool);

    const { forecast, reason, stop } = four.body;
    expect(reason).toBeUndefined();
    expect(forecast).toMatchObject({ atLabels: points[3].labels + 1000, level: 0.8, fittedPoints: 4 });
    expect(forecast.low).toBeLessThanOrEqual(forecast.accuracy);
    expect(forecast.accuracy).toBeLessThanOrEqual(forecast.high);
    expect(forecast.low).toBeGreaterThanOrEqual(0);
    expect(forecast.high).toBeLessThanOrEqual(1);
    expect(stop).toMatchObject({ measure: 'kappa', threshold: 0.99, window: 3, stopSetSize: pool.unlabeled });
    // Each scored model after the first carries its agreement with the one scored before it; a model that was
    // not promoted was not scored and has none.
    const scored = await t.db.query<{ id: string }>(
      `SELECT DISTINCT model_version_id AS id FROM stop_set_predictions s
       JOIN model_versions m ON m.id = s.model_version_id WHERE m.project_id = $1`,
      [projectId],
    );
    expect(scored.length).toBeGreaterThanOrEqual(2);
    const scoredIds = new Set(scored.map((row) => row.id));
    for (const point of points.slice(1)) {
      expect(point.agreement !== null).toBe(scoredIds.has(point.modelVersionId));
    }

    const nearer = await curve(projectId, '?plus=50');
    expect(nearer.body.forecast.atLabels).toBe(points[3].labels + 50);

    // A viewer reads it; a bad plus is a 400 naming it; an unknown project a 404.
    const viewer = await createKey(t, 'viewer', projectId);
    expect((await t.call('GET', `/v1/projects/${projectId}/learning-curve`, undefined, viewer)).status).toBe(
      200,
    );
    const bad = await curve(projectId, '?plus=0');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/plus/);
    expect((await curve(projectId, '?other=1')).status).toBe(400);
    expect((await curve('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  }, 180_000);
});
