import { createProject, startTestApp, textItems, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';
import { type BenchRedis, startBenchRedis } from '../bench/support/redis-server';

// Redis holds the retrain counters only as a hint; the annotation log is the truth. Labels written while
// Redis is down (or counted in a Redis that then restarts empty) still start the training they call for.
describe('retrain trigger across a Redis outage', () => {
  // A Redis of this test's own, without persistence: a restart comes back empty.
  let redis: BenchRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startBenchRedis();
    t = await startTestApp({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
  });

  async function projectWithItems(name: string): Promise<string[]> {
    const projectId = await createProject(t, { name, acquisitionSpec: { retrainThreshold: 10 } });
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(20, name));
    const rows = await t.db.query<{ id: string }>(
      'SELECT id FROM items WHERE project_id = $1 ORDER BY external_id',
      [projectId],
    );
    return [projectId, ...rows.map((row) => row.id)];
  }

  /** Labels the items one by one; returns the slowest answer's milliseconds. */
  async function label(itemIds: string[]): Promise<number> {
    let slowest = 0;
    for (const itemId of itemIds) {
      const started = Date.now();
      const response = await t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'spam' });
      expect(response.status).toBe(201);
      slowest = Math.max(slowest, Date.now() - started);
    }
    return slowest;
  }

  async function trainings(projectId: string): Promise<{ reason: string; state: string }[]> {
    const response = await t.call('GET', `/v1/projects/${projectId}/jobs`);
    expect(response.status).toBe(200);
    return response.body.data;
  }

  it('enqueues the training the labels call for once Redis comes back empty, without further labels', async () => {
    const [due, ...dueItems] = await projectWithItems('due');
    const [short, ...shortItems] = await projectWithItems('short');
    // Counted in Redis before the outage: 6 of 10, and 3 of 10.
    await label(dueItems.slice(0, 6));
    await label(shortItems.slice(0, 3));
    expect(await trainings(due)).toEqual([]);

    await redis.kill();
    expect(await label(dueItems.slice(6, 10))).toBeLessThan(1_000);
    expect(await label(shortItems.slice(3, 7))).toBeLessThan(1_000);

    await redis.restart();
    const [training] = await waitFor(
      'the threshold training of the project that reached its threshold',
      async () => {
        const jobs = await trainings(due);
        return jobs.length > 0 ? jobs : undefined;
      },
      30,
      250,
    );
    expect(training).toMatchObject({ reason: 'threshold', state: 'waiting' });
    expect(await trainings(short)).toEqual([]);

    // The other project's count is the log's 7 again, not what the empty Redis saw: 3 more labels train.
    await label(shortItems.slice(7, 10));
    expect(await trainings(short)).toEqual([expect.objectContaining({ reason: 'threshold' })]);
  }, 90_000);
});
