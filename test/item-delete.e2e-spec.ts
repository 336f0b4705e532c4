import { randomUUID } from 'node:crypto';
import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp } from './support/app';

// One bad row must never wedge a project: an item can be deleted. It leaves the pool, the queue and everything
// committed from then on, while a dataset version committed before it still exports exactly what it did.
describe('item delete', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api' });
  });
  afterAll(() => t.close());

  const image = (externalId: string, shade: number, label?: string) => ({
    externalId,
    pixels: Array.from({ length: 16 }, () => shade),
    width: 4,
    height: 4,
    ...(label ? { label } : {}),
  });

  /**
   * A corrupt item written straight into the database, the way items got in before image checks existed
   * (3 pixels make no image): labeled, so versions hold it, or unlabeled, first in the cold-start queue.
   */
  async function insertCorruptItem(
    projectId: string,
    externalId: string,
    label: string | null,
  ): Promise<string> {
    const [{ id }] = await t.db.query<{ id: string }>(
      `INSERT INTO items (project_id, external_id, payload, content_hash, split, label, labeled_at, cold_priority)
       VALUES ($1, $2, '{"pixels": [1, 2, 3]}', $2, 'pool', $3::text, CASE WHEN $3::text IS NULL THEN NULL ELSE now() END, 2)
       RETURNING id`,
      [projectId, externalId, label],
    );
    if (label) {
      await t.db.query(
        `INSERT INTO annotations (project_id, item_id, label, annotator, source) VALUES ($1, $2, $3, 'import', 'import')`,
        [projectId, id, label],
      );
    }
    return id;
  }

  async function exportLines(projectId: string, version: number): Promise<string[]> {
    const response = await fetch(
      `${t.baseUrl}/v1/projects/${projectId}/versions/${version}/export?format=jsonl`,
      {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      },
    );
    expect(response.status).toBe(200);
    return (await response.text()).split('\n').filter((line) => line !== '');
  }

  it('takes a corrupt item out of the queue, the pool and new versions, and leaves older versions as they were', async () => {
    const projectId = await createProject(t, { inputKind: 'image', labels: ['dark', 'light'] });
    const items = [image('a', 10, 'dark'), image('b', 240, 'light'), image('c', 20), image('d', 230)];
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).status).toBe(200);
    const corruptLabeled = await insertCorruptItem(projectId, 'corrupt-labeled', 'dark');
    const corruptUnlabeled = await insertCorruptItem(projectId, 'corrupt-unlabeled', null);

    const v1 = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'before the delete' });
    expect(v1.status).toBe(201);
    expect(v1.body.counts.labeled).toBe(3);
    const v1Export = await exportLines(projectId, v1.body.number);
    expect(v1Export.map((line) => JSON.parse(line).externalId)).toContain('corrupt-labeled');

    // The queue is topped up with the corrupt unlabeled item: an annotator gets it.
    const annotator = await createKey(t, 'annotator', projectId);
    const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator);
    const corruptTask = leased.body.data.find(
      (task: { itemId: string }) => task.itemId === corruptUnlabeled,
    )?.id;
    expect(corruptTask).toBeDefined();

    expect((await t.call('DELETE', `/v1/items/${corruptLabeled}`)).status).toBe(204);
    expect((await t.call('DELETE', `/v1/items/${corruptUnlabeled}`)).status).toBe(204);

    // Gone for the API: read, list, label, delete again.
    expect((await t.call('GET', `/v1/items/${corruptLabeled}`)).status).toBe(404);
    expect((await t.call('DELETE', `/v1/items/${corruptLabeled}`)).status).toBe(404);
    const label = await t.call(
      'POST',
      `/v1/items/${corruptUnlabeled}/annotations`,
      { label: 'dark' },
      annotator,
    );
    expect(label.status).toBe(404);
    const listed = await t.call('GET', `/v1/projects/${projectId}/items?limit=100`);
    expect(listed.body.data.map((item: { externalId: string }) => item.externalId).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
    const stats = await t.call('GET', `/v1/projects/${projectId}/stats`);
    expect(stats.body).toMatchObject({ items: 4, labeled: 2, perLabel: { dark: 1, light: 1 } });

    // Its lease went with it: the late answer is refused. The other leases go back to the queue and are
    // handed out again, the deleted item never (the queue is short: a lease tops it up from the pool).
    const late = await t.call('POST', `/v1/tasks/${corruptTask}/annotation`, { label: 'dark' }, annotator);
    expect(late.status).toBe(404);
    for (const task of leased.body.data as { id: string; itemId: string }[]) {
      if (task.itemId === corruptUnlabeled) continue;
      expect((await t.call('POST', `/v1/tasks/${task.id}/release`, undefined, annotator)).status).toBe(200);
    }
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator);
    const externalIds = next.body.data.map((task: { externalId: string }) => task.externalId);
    expect(externalIds.sort()).toEqual(['c', 'd']);
    expect(
      await t.db.query('SELECT 1 FROM tasks WHERE item_id = ANY($1::uuid[])', [
        [corruptLabeled, corruptUnlabeled],
      ]),
    ).toHaveLength(0);

    // The version committed before is unchanged; the next one does not hold the item.
    expect(await exportLines(projectId, v1.body.number)).toEqual(v1Export);
    const v2 = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'after the delete' });
    expect(v2.body.counts.labeled).toBe(2);
    const v2Export = await exportLines(projectId, v2.body.number);
    expect(v2Export.map((line) => JSON.parse(line).externalId).sort()).toEqual(['a', 'b']);
    const diff = await t.call(
      'GET',
      `/v1/projects/${projectId}/versions/${v1.body.number}/diff/${v2.body.number}`,
    );
    expect(diff.body.data).toEqual([
      expect.objectContaining({ itemId: corruptLabeled, change: 'removed', before: 'dark', after: null }),
    ]);

    // Its external id stays taken: importing it again does not bring the item back.
    const again = await t.call('POST', `/v1/projects/${projectId}/items`, [image('corrupt-labeled', 50)]);
    expect(again.body).toMatchObject({ created: 0, existing: 1 });
    expect((await t.call('GET', `/v1/items/${corruptLabeled}`)).status).toBe(404);
  }, 60_000);

  it('wins over annotations racing it: no label lands after the delete, so new versions never hold the item', async () => {
    const projectId = await createProject(t, { labels: ['spam', 'ham'] });
    const items = Array.from({ length: 10 }, (_, i) => ({ externalId: `r-${i}`, text: `race ${i}` }));
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).status).toBe(200);
    const annotator = await createKey(t, 'annotator', projectId);
    const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator);
    expect(leased.body.data).toHaveLength(10);
    // Half the items race a task annotation (it locks the task, then the item), half two item annotations
    // (they lock the item, then its task): the delete meets both lock orders.
    const outcomes = await Promise.all(
      (leased.body.data as { id: string; itemId: string }[]).map(async (task, i) => {
        const writes =
          i % 2 === 0
            ? [t.call('POST', `/v1/tasks/${task.id}/annotation`, { label: 'spam' }, annotator)]
            : [
                t.call('POST', `/v1/items/${task.itemId}/annotations`, { label: 'ham' }, annotator),
                t.call('POST', `/v1/items/${task.itemId}/annotations`, { label: 'spam' }, annotator),
              ];
        const deleted = await t.call('DELETE', `/v1/items/${task.itemId}`);
        return [deleted.status, ...(await Promise.all(writes)).map((response) => response.status)];
      }),
    );
    for (const [deleted, ...writes] of outcomes) {
      expect(deleted).toBe(204);
      for (const status of writes) expect([200, 201, 404, 409]).toContain(status);
    }
    // Each item's newest annotation is the delete's retraction, whatever order the writes took.
    const newest = await t.db.query<{ label: string | null }>(
      `SELECT DISTINCT ON (item_id) label FROM annotations WHERE project_id = $1 ORDER BY item_id, seq DESC`,
      [projectId],
    );
    expect(newest).toHaveLength(10);
    expect(newest.every((row) => row.label === null)).toBe(true);
    const version = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'after the race' });
    expect(version.body.counts.labeled).toBe(0);
  }, 60_000);

  it('answers 404 for an unknown item and 403 outside the key’s role or project', async () => {
    const projectId = await createProject(t);
    const otherProjectId = await createProject(t);
    expect(
      (await t.call('POST', `/v1/projects/${projectId}/items`, [{ externalId: 'x', text: 'x' }])).status,
    ).toBe(200);
    const [{ id }] = (await t.call('GET', `/v1/projects/${projectId}/items`)).body.data;

    expect((await t.call('DELETE', `/v1/items/${randomUUID()}`)).status).toBe(404);
    expect((await t.call('DELETE', '/v1/items/not-a-uuid')).status).toBe(404);
    const otherAdmin = await createKey(t, 'admin', otherProjectId);
    expect((await t.call('DELETE', `/v1/items/${id}`, undefined, otherAdmin)).status).toBe(403);
    const annotator = await createKey(t, 'annotator', projectId);
    expect((await t.call('DELETE', `/v1/items/${id}`, undefined, annotator)).status).toBe(403);
    expect((await t.call('DELETE', `/v1/items/${id}`, undefined, null)).status).toBe(401);
    expect((await t.call('GET', `/v1/items/${id}`)).status).toBe(200);

    const projectAdmin = await createKey(t, 'admin', projectId);
    expect((await t.call('DELETE', `/v1/items/${id}`, undefined, projectAdmin)).status).toBe(204);
    expect((await t.call('GET', `/v1/items/${id}`)).status).toBe(404);
  }, 60_000);
});
