import { spawn, type ChildProcess } from 'node:child_process';
import { createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { freePort } from '../bench/support/ports';

/** The value of one sample line, e.g. `tasks_open{project="..."} 3`, or undefined when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = match[2].split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe('health and metrics', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('/health/live answers 200 without a key', async () => {
    const response = await t.call('GET', '/health/live', undefined, null);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('/health/ready answers 200 with database, Redis and object store ok, without a key', async () => {
    const response = await t.call('GET', '/health/ready', undefined, null);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
    expect(Object.keys(response.body.checks).sort()).toEqual(['database', 'objectStore', 'redis']);
    for (const check of Object.values(response.body.checks)) expect(check).toMatchObject({ status: 'ok' });
  });

  it('/metrics has the latency histogram, labels_total and the task gauges for a project', async () => {
    const projectId = await createProject(t, { name: 'metrics' });
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(5, 'm'));
    const annotator = await createKey(t, 'annotator', null, 'metrics-annotator');
    const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=2`, undefined, annotator);
    expect(leased.body.data).toHaveLength(2);
    const labeled = await t.call(
      'POST',
      `/v1/tasks/${leased.body.data[0].id}/annotation`,
      { label: 'spam' },
      annotator,
    );
    expect(labeled.status).toBe(201);

    const response = await fetch(`${t.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const metrics = await response.text();

    expect(metrics).toContain('# TYPE http_request_duration_seconds histogram');
    const route = { method: 'POST', route: '/v1/tasks/:id/annotation', status_code: '201' };
    expect(sample(metrics, 'http_request_duration_seconds_count', route)).toBe(1);
    expect(sample(metrics, 'http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(1);

    expect(sample(metrics, 'labels_total', { project: projectId, annotator: 'metrics-annotator' })).toBe(1);
    // Five items: one labeled (done), one still leased, three open.
    expect(sample(metrics, 'tasks_open', { project: projectId })).toBe(3);
    expect(sample(metrics, 'tasks_leased', { project: projectId })).toBe(1);
  });

  it('counts labels from item annotations too, and drops the gauges of an empty queue', async () => {
    const projectId = await createProject(t, { name: 'metrics 2' });
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(1, 'only'));
    const [item] = await t.db.query<{ id: string }>(`SELECT id FROM items WHERE project_id = $1`, [
      projectId,
    ]);
    const appended = await t.call('POST', `/v1/items/${item.id}/annotations`, {
      label: 'ham',
      annotator: 'rev',
    });
    expect(appended.status).toBe(201);

    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(sample(metrics, 'labels_total', { project: projectId, annotator: 'rev' })).toBe(1);
    expect(sample(metrics, 'tasks_open', { project: projectId })).toBeUndefined();
    expect(sample(metrics, 'tasks_leased', { project: projectId })).toBeUndefined();
  });

  it('/health/ready answers 503 naming the object store once it stops, while /health/live stays 200', async () => {
    const other = await startTestApp();
    try {
      expect((await other.call('GET', '/health/ready', undefined, null)).status).toBe(200);
      await other.s3.stop();
      const response = await other.call('GET', '/health/ready', undefined, null);
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('error');
      expect(response.body.checks.objectStore).toMatchObject({ status: 'error', error: expect.any(String) });
      expect(response.body.checks.database.status).toBe('ok');
      expect(response.body.checks.redis.status).toBe('ok');
      expect((await other.call('GET', '/health/live', undefined, null)).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('/health/ready answers 503 naming Redis while Redis cannot be reached, and 200 once it can', async () => {
    const port = await freePort();
    const other = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
    let redis: ChildProcess | undefined;
    try {
      const down = await other.call('GET', '/health/ready', undefined, null);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('error');
      expect(down.body.checks.redis).toMatchObject({
        status: 'error',
        error: expect.stringMatching(/redis/i),
      });
      expect(down.body.checks.database.status).toBe('ok');
      expect(down.body.checks.objectStore.status).toBe('ok');

      // A real Redis appears on that port: the app reconnects by itself. (This also lets the app
      // shut down: with Redis never reached and a probe's PING queued, app.close() hangs.)
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      let up = down;
      for (const deadline = Date.now() + 15_000; up.status !== 200 && Date.now() < deadline;) {
        await new Promise((done) => setTimeout(done, 250));
        up = await other.call('GET', '/health/ready', undefined, null);
      }
      expect(up.status).toBe(200);
      expect(up.body.checks.redis.status).toBe('ok');
    } finally {
      await other.close();
      redis?.kill('SIGTERM');
    }
  });
});
