import { createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { expectRejectedWithoutWrites, rowCounts } from './support/expect';

interface Task {
  id: string;
  itemId: string;
  externalId: string;
  payload: { text: string };
  preLabel: unknown;
  priority: number;
}

/**
 * The human loop in order, each step building on the last: import, browse, lease,
 * label, correct, skip, release, stats, and a retried submit.
 */
describe('the labeling flow end to end', () => {
  let t: TestApp;
  let projectId: string;
  let alice: string;
  let bob: string;
  let aliceTasks: Task[];
  let released: Task;
  let skipped: Task;

  beforeAll(async () => {
    t = await startTestApp();
    alice = await createKey(t, 'annotator', null, 'alice');
    bob = await createKey(t, 'annotator', null, 'bob');
  });
  afterAll(() => t.close());

  async function lease(key: string, limit: number): Promise<Task[]> {
    const response = await t.call(
      'GET',
      `/v1/projects/${projectId}/tasks/next?limit=${limit}`,
      undefined,
      key,
    );
    expect(response.status).toBe(200);
    return response.body.data;
  }

  /** Every item id the list returns across all pages, following nextCursor. */
  async function listAll(query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/projects/${projectId}/items?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await t.call('GET', url);
      expect(response.status).toBe(200);
      ids.push(...response.body.data.map((item: { id: string }) => item.id));
      cursor = response.body.nextCursor;
      pages++;
    } while (cursor);
    return { ids, pages };
  }

  it('creates a project and imports items, each with an open task', async () => {
    projectId = await createProject(t, { name: 'flow', labels: ['spam', 'ham'] });
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, textItems(12, 'flow'));
    expect(imported.status).toBe(200);
    expect(imported.body).toEqual({ received: 12, created: 12, existing: 0 });
    const [counts] = await t.db.query(
      `SELECT (SELECT count(*)::int FROM items WHERE project_id = $1) AS items,
              (SELECT count(*)::int FROM tasks WHERE project_id = $1 AND status = 'open') AS open`,
      [projectId],
    );
    expect(counts).toEqual({ items: 12, open: 12 });
  });

  it('lists every item once across cursor pages', async () => {
    const { ids, pages } = await listAll('', 5);
    expect(pages).toBe(3);
    expect(new Set(ids).size).toBe(12);
    const rows = await t.db.query<{ id: string }>(`SELECT id FROM items WHERE project_id = $1`, [projectId]);
    expect([...ids].sort()).toEqual(rows.map((row) => row.id).sort());
  });

  it('leases the highest-priority open tasks with their payload and pre-label', async () => {
    aliceTasks = await lease(alice, 5);
    expect(aliceTasks).toHaveLength(5);
    const priorities = aliceTasks.map((task) => task.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
    const [{ best }] = await t.db.query<{ best: number }>(
      `SELECT min(priority) AS best FROM tasks WHERE project_id = $1 AND status = 'leased'`,
      [projectId],
    );
    const [{ rest }] = await t.db.query<{ rest: number }>(
      `SELECT max(priority) AS rest FROM tasks WHERE project_id = $1 AND status = 'open'`,
      [projectId],
    );
    expect(best).toBeGreaterThanOrEqual(rest);
    const index = Number(aliceTasks[0].externalId.replace('flow-', ''));
    expect(aliceTasks[0].payload).toEqual({ text: `text number ${index} of flow` });
    expect(aliceTasks[0].preLabel).toBeNull();
  });

  it('stores an annotation and closes the task in one step', async () => {
    const [first] = aliceTasks;
    const response = await t.call(
      'POST',
      `/v1/tasks/${first.id}/annotation`,
      { label: 'spam', leadTimeMs: 1000 },
      alice,
    );
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ taskId: first.id, itemId: first.itemId, label: 'spam' });

    const [task] = await t.db.query(`SELECT status, lease_owner FROM tasks WHERE id = $1`, [first.id]);
    expect(task).toEqual({ status: 'done', lease_owner: null });
    const [item] = await t.db.query(`SELECT label FROM items WHERE id = $1`, [first.itemId]);
    expect(item.label).toBe('spam');
    const annotations = await t.db.query(
      `SELECT id, label, annotator, lead_time_ms, source FROM annotations WHERE item_id = $1`,
      [first.itemId],
    );
    expect(annotations).toEqual([
      {
        id: response.body.annotationId,
        label: 'spam',
        annotator: 'alice',
        lead_time_ms: 1000,
        source: 'human',
      },
    ]);

    expect(
      (
        await t.call(
          'POST',
          `/v1/tasks/${aliceTasks[1].id}/annotation`,
          { label: 'spam', leadTimeMs: 2000 },
          alice,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await t.call(
          'POST',
          `/v1/tasks/${aliceTasks[2].id}/annotation`,
          { label: 'ham', leadTimeMs: 6000 },
          alice,
        )
      ).status,
    ).toBe(201);
  });

  it('refuses a second answer to a task that is already done, writing nothing', async () => {
    await expectRejectedWithoutWrites(
      t,
      () => t.call('POST', `/v1/tasks/${aliceTasks[0].id}/annotation`, { label: 'ham' }, alice),
      409,
      `task ${aliceTasks[0].id} is already done`,
    );
  });

  it('keeps the label history: a correction appends, and the newest annotation is the label', async () => {
    const { itemId } = aliceTasks[0];
    const [original] = await t.db.query(`SELECT id, label, created_at FROM annotations WHERE item_id = $1`, [
      itemId,
    ]);

    const corrected = await t.call('POST', `/v1/items/${itemId}/annotations`, {
      label: 'ham',
      annotator: 'carol',
    });
    expect(corrected.status).toBe(201);
    expect(corrected.body).toMatchObject({ itemId, label: 'ham', annotator: 'carol', source: 'review' });

    const item = await t.call('GET', `/v1/items/${itemId}`, undefined, bob);
    expect(item.status).toBe(200);
    expect(item.body.label).toBe('ham');
    expect(
      item.body.annotations.map((a: { label: string; annotator: string }) => [a.label, a.annotator]),
    ).toEqual([
      ['spam', 'alice'],
      ['ham', 'carol'],
    ]);
    const rows = await t.db.query(
      `SELECT id, label, created_at FROM annotations WHERE item_id = $1 ORDER BY seq`,
      [itemId],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual(original);
  });

  it('skip takes a task out of the queue; release offers it again', async () => {
    skipped = aliceTasks[3];
    released = aliceTasks[4];
    const skip = await t.call('POST', `/v1/tasks/${skipped.id}/skip`, undefined, alice);
    expect(skip.status).toBe(200);
    expect(skip.body).toEqual({ id: skipped.id, status: 'skipped' });
    const release = await t.call('POST', `/v1/tasks/${released.id}/release`, undefined, alice);
    expect(release.status).toBe(200);
    expect(release.body).toEqual({ id: released.id, status: 'open' });
    const states = await t.db.query(
      `SELECT id, status, lease_owner FROM tasks WHERE id = ANY($1) ORDER BY status`,
      [[skipped.id, released.id]],
    );
    expect(states).toEqual([
      { id: released.id, status: 'open', lease_owner: null },
      { id: skipped.id, status: 'skipped', lease_owner: null },
    ]);

    // The released task is the best open one again, so it comes first; the skipped one never comes back.
    const [next] = await lease(bob, 1);
    expect(next.id).toBe(released.id);
  });

  it('replays an annotation submit with the same Idempotency-Key and writes once', async () => {
    const headers = { 'idempotency-key': 'submit-1' };
    const body = { label: 'ham', leadTimeMs: 3000 };
    const first = await t.call('POST', `/v1/tasks/${released.id}/annotation`, body, bob, headers);
    expect(first.status).toBe(201);
    const countsAfterFirst = await rowCounts(t);

    const replay = await t.call('POST', `/v1/tasks/${released.id}/annotation`, body, bob, headers);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(await rowCounts(t)).toEqual(countsAfterFirst);
    const [{ n }] = await t.db.query(`SELECT count(*)::int AS n FROM annotations WHERE item_id = $1`, [
      released.itemId,
    ]);
    expect(n).toBe(1);

    await expectRejectedWithoutWrites(
      t,
      () =>
        t.call(
          'POST',
          `/v1/tasks/${released.id}/annotation`,
          { label: 'spam', leadTimeMs: 3000 },
          bob,
          headers,
        ),
      422,
      'Idempotency-Key was already used for a different request',
    );
    const [item] = await t.db.query(`SELECT label FROM items WHERE id = $1`, [released.itemId]);
    expect(item.label).toBe('ham');
  });

  it('filters the list by labeled, label and split', async () => {
    expect((await listAll('&labeled=true', 3)).ids).toHaveLength(4);
    expect((await listAll('&labeled=false', 3)).ids).toHaveLength(8);
    const ham = await listAll('&label=ham', 2);
    expect(ham.ids.sort()).toEqual([aliceTasks[0].itemId, aliceTasks[2].itemId, released.itemId].sort());
    const spam = await listAll('&label=spam', 2);
    expect(spam.ids).toEqual([aliceTasks[1].itemId]);
    expect((await listAll('&split=pool', 5)).ids).toHaveLength(12);
    expect((await listAll('&split=holdout', 5)).ids).toHaveLength(0);
    expect((await listAll('&split=pool&labeled=true&label=ham', 1)).ids).toHaveLength(3);
    expect((await listAll('&labeled=false&label=ham', 1)).ids).toHaveLength(0);
  });

  it('reports items, labels, queue and labeling pace', async () => {
    const leasedByBob = await lease(bob, 3);
    expect(leasedByBob).toHaveLength(3);

    const response = await t.call('GET', `/v1/projects/${projectId}/stats?windowHours=2`, undefined, bob);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      items: 12,
      labeled: 4,
      perLabel: { spam: 1, ham: 3 },
      tasks: { open: 4, leased: 3, done: 4, skipped: 1 },
      window: {
        hours: 2,
        // Human labels from the queue; carol's review correction is not labeling throughput.
        labels: 4,
        labelsPerHour: 2,
        medianLeadTimeMs: 2500,
        perAnnotator: [
          { annotator: 'alice', labels: 3, labelsPerHour: 1.5, medianLeadTimeMs: 2000 },
          { annotator: 'bob', labels: 1, labelsPerHour: 0.5, medianLeadTimeMs: 3000 },
        ],
      },
    });
  });

  it('never offers the skipped task again', async () => {
    const rest = await lease(alice, 100);
    expect(rest).toHaveLength(4);
    expect(rest.map((task) => task.id)).not.toContain(skipped.id);
    expect(await lease(alice, 100)).toEqual([]);
  });
});
