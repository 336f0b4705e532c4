import { Client } from 'pg';
import { TasksRepository } from '@labelloop/db';
import { createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';

describe('task leasing under concurrency', () => {
  let t: TestApp;

  // Leases outlast the test even on a loaded machine, so every re-offer would be a bug.
  beforeAll(async () => {
    t = await startTestApp({ LEASE_SECONDS: '300', COLD_START_QUEUE_SIZE: '1000' });
  });
  afterAll(() => t.close());

  it('hands each of 1,000 tasks to exactly one of 50 concurrent callers', async () => {
    const projectId = await createProject(t);
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, textItems(1000));
    expect(imported.body).toMatchObject({ received: 1000, created: 1000 });
    const keys = await Promise.all(
      Array.from({ length: 50 }, (_, i) => createKey(t, 'annotator', null, `a${i}`)),
    );

    const handedOut: string[] = [];
    await Promise.all(
      keys.map(async (key) => {
        for (;;) {
          const response = await t.call(
            'GET',
            `/v1/projects/${projectId}/tasks/next?limit=7`,
            undefined,
            key,
          );
          expect(response.status).toBe(200);
          if (response.body.data.length === 0) return;
          handedOut.push(...response.body.data.map((task: { id: string }) => task.id));
        }
      }),
    );

    expect(handedOut).toHaveLength(1000);
    expect(new Set(handedOut).size).toBe(1000);
    const [{ leased }] = await t.db.query<{ leased: number }>(
      `SELECT count(*)::int AS leased FROM tasks WHERE project_id = $1 AND status = 'leased'`,
      [projectId],
    );
    expect(leased).toBe(1000);
  });
});

describe('task lease expiry', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LEASE_SECONDS: '2' });
  });
  afterAll(() => t.close());

  it('offers a task again once its lease has expired, and only then', async () => {
    const projectId = await createProject(t);
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(3, 'lease'));
    const first = await createKey(t, 'annotator', null, 'first');
    const second = await createKey(t, 'annotator', null, 'second');

    const taken = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=3`, undefined, first);
    expect(taken.body.data).toHaveLength(3);
    const none = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=3`, undefined, second);
    expect(none.body.data).toHaveLength(0);

    await new Promise((done) => setTimeout(done, 2_200));
    const again = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=3`, undefined, second);
    expect(again.body.data.map((task: { id: string }) => task.id).sort()).toEqual(
      taken.body.data.map((task: { id: string }) => task.id).sort(),
    );

    // The first annotator's lease is gone: their late answer is refused and nothing is written.
    const late = await t.call(
      'POST',
      `/v1/tasks/${taken.body.data[0].id}/annotation`,
      { label: 'spam' },
      first,
    );
    expect(late.status).toBe(409);
    const [{ n }] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM annotations`);
    expect(n).toBe(0);
  });
});

describe('queue trim beside a lease', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LEASE_SECONDS: '300' });
  });
  afterAll(() => t.close());

  it('never deletes a task that a lease took while the trim was choosing what to drop', async () => {
    const projectId = await createProject(t);
    await t.call('POST', `/v1/projects/${projectId}/items`, textItems(5, 'trim'));
    await t.db.query(
      `INSERT INTO tasks (project_id, item_id, priority) SELECT project_id, id, 0 FROM items WHERE project_id = $1
       ON CONFLICT (item_id) DO NOTHING`,
      [projectId],
    );
    const [{ id: taskId }] = await t.db.query<{ id: string }>(
      `SELECT id FROM tasks WHERE project_id = $1 ORDER BY id LIMIT 1`,
      [projectId],
    );
    // A lease in flight: it has taken the task, not yet committed.
    const lease = new Client({ connectionString: t.db.url });
    await lease.connect();
    try {
      await lease.query('BEGIN');
      await lease.query(
        `UPDATE tasks SET status = 'leased', lease_owner = 'annotator', lease_expires_at = now() + interval '300 s'
         WHERE id = $1`,
        [taskId],
      );
      // A score-new pass trims the open queue to nothing meanwhile: it chooses the task, then waits for its row.
      const trim = t.app.get(TasksRepository).joinQueue(projectId, [], 0);
      await waitFor(
        'the trim waiting for the leased row',
        async () => {
          const [{ n }] = await t.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%DELETE FROM tasks%'`,
          );
          return n > 0 ? true : undefined;
        },
        10,
      );
      await lease.query('COMMIT');
      expect((await trim).removed).toBe(4);
    } finally {
      await lease.end();
    }
    const rows = await t.db.query<{ status: string }>(`SELECT status FROM tasks WHERE id = $1`, [taskId]);
    expect(rows).toEqual([{ status: 'leased' }]);
  });
});
