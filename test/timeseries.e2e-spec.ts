import { createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';

// Throughput charts for data teams: real labels through the API, plus history written
// with past timestamps so several buckets can be checked.
describe('GET /v1/projects/:id/stats/timeseries', () => {
  let t: TestApp;
  let projectId: string;
  const hour = (h: number) => new Date(Date.UTC(2026, 0, 10, h, 0, 0));

  beforeAll(async () => {
    t = await startTestApp();
    projectId = await createProject(t);
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(10));
    const items = await t.db.query<{ id: string }>('SELECT id FROM items WHERE project_id = $1 ORDER BY id', [
      projectId,
    ]);
    const history: [number, number, string, number][] = [
      // [hour, minute, annotator, lead time ms]
      [9, 5, 'ann', 1000],
      [9, 40, 'bob', 3000],
      [9, 50, 'ann', 2000],
      [11, 15, 'ann', 4000],
    ];
    for (const [i, [h, m, annotator, lead]] of history.entries()) {
      await t.db.query(
        `INSERT INTO annotations (project_id, item_id, label, annotator, lead_time_ms, source, created_at)
         VALUES ($1, $2, 'spam', $3, $4, 'human', $5)`,
        [projectId, items[i].id, annotator, lead, new Date(hour(h).getTime() + m * 60_000)],
      );
    }
    await t.db.query(
      `INSERT INTO model_versions (project_id, number, run_id, status, spec, metrics, promoted, ready_at)
       VALUES ($1, 1, 'run-1', 'ready', '{}', '{"accuracy": 0.81}', true, $2)`,
      [projectId, new Date(hour(10).getTime() + 30 * 60_000)],
    );
  });
  afterAll(() => t.close());

  it('gives labels, active annotators, median lead time and model accuracy per hour, empty hours included', async () => {
    const response = await t.call(
      'GET',
      `/v1/projects/${projectId}/stats/timeseries?bucket=hour&from=${hour(8).toISOString()}&to=${hour(11).toISOString()}`,
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual([
      {
        start: hour(8).toISOString(),
        labels: 0,
        activeAnnotators: 0,
        medianLeadTimeMs: null,
        modelAccuracy: null,
      },
      {
        start: hour(9).toISOString(),
        labels: 3,
        activeAnnotators: 2,
        medianLeadTimeMs: 2000,
        modelAccuracy: null,
      },
      {
        start: hour(10).toISOString(),
        labels: 0,
        activeAnnotators: 0,
        medianLeadTimeMs: null,
        modelAccuracy: 0.81,
      },
      {
        start: hour(11).toISOString(),
        labels: 1,
        activeAnnotators: 1,
        medianLeadTimeMs: 4000,
        modelAccuracy: 0.81,
      },
    ]);
  });

  it('adds up a day', async () => {
    const response = await t.call(
      'GET',
      `/v1/projects/${projectId}/stats/timeseries?bucket=day&from=${hour(0).toISOString()}&to=${hour(23).toISOString()}`,
    );
    expect(response.body.data).toEqual([
      {
        start: hour(0).toISOString(),
        labels: 4,
        activeAnnotators: 2,
        medianLeadTimeMs: 2500,
        modelAccuracy: 0.81,
      },
    ]);
  });

  it('counts labels made through the API in the current hour, and their lead time on /metrics', async () => {
    const key = await createKey(t, 'annotator');
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=1`, undefined, key);
    await t.call(
      'POST',
      `/v1/tasks/${next.body.data[0].id}/annotation`,
      { label: 'ham', leadTimeMs: 7000 },
      key,
    );
    const response = await t.call('GET', `/v1/projects/${projectId}/stats/timeseries`);
    expect(response.body.data).toHaveLength(48);
    expect(response.body.data[47]).toMatchObject({ labels: 1, activeAnnotators: 1, medianLeadTimeMs: 7000 });
    const metrics = await t.call('GET', '/metrics', undefined, null);
    expect(metrics.body).toContain(`label_lead_time_seconds_bucket{le="10",project="${projectId}"} 1`);
    expect(metrics.body).toContain(`label_lead_time_seconds_bucket{le="5",project="${projectId}"} 0`);
  });

  it('rejects an unknown bucket, a reversed range and too many buckets, naming the field', async () => {
    const bad = await t.call('GET', `/v1/projects/${projectId}/stats/timeseries?bucket=week`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/bucket/);
    const reversed = await t.call(
      'GET',
      `/v1/projects/${projectId}/stats/timeseries?from=${hour(5).toISOString()}&to=${hour(1).toISOString()}`,
    );
    expect(reversed.status).toBe(400);
    expect(reversed.body.message).toMatch(/^from:/);
    const huge = await t.call('GET', `/v1/projects/${projectId}/stats/timeseries?from=2000-01-01T00:00:00Z`);
    expect(huge.status).toBe(400);
    expect(huge.body.message).toMatch(/at most 2000 hour buckets/);
  });
});
