import { createProject, startTestApp, type TestApp, textItems } from './support/app';

// Deleting a project cascades to its items, whose deletes cascade to their annotations by item id. That
// lookup must use an index, else each item scans every annotation in the database (a project of 1,000 items
// took 39.6 s with 278k annotations elsewhere).
describe('project delete', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api' });
  });
  afterAll(() => t.close());

  it("finds an item's annotations by index when it cascades, and deletes them all", async () => {
    // Another project's large annotation log, so the planner sees a table worth an index.
    const other = await createProject(t, { name: 'big' });
    const labeled = textItems(2000, 'big').map((item, i) => ({ ...item, label: i % 2 ? 'spam' : 'ham' }));
    expect((await t.call('POST', `/v1/projects/${other}/items`, labeled)).body).toMatchObject({
      created: 2000,
    });
    await t.db.query(
      `INSERT INTO annotations (project_id, item_id, label, annotator, source)
       SELECT project_id, id, label, 'bulk', 'import' FROM items, generate_series(1, 20) WHERE project_id = $1`,
      [other],
    );
    await t.db.query('ANALYZE annotations, predictions, suspects');
    const plan = await t.db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN DELETE FROM annotations WHERE item_id = '00000000-0000-4000-8000-000000000000'`,
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain('annotations_item_id_idx');
    // Deleting a model version (retention) cascades to its predictions and suspects the same way.
    const indexes = await t.db.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE tablename IN ('predictions', 'suspects')`,
    );
    expect(indexes.map((row) => row.indexname)).toEqual(
      expect.arrayContaining(['predictions_model_version_id_idx', 'suspects_model_version_id_idx']),
    );

    const projectId = await createProject(t, { name: 'doomed' });
    const items = textItems(300, 'doomed').map((item) => ({ ...item, label: 'spam' }));
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).body).toMatchObject({
      created: 300,
    });
    expect((await t.call('DELETE', `/v1/projects/${projectId}`)).status).toBe(204);
    const [left] = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM annotations WHERE project_id = $1',
      [projectId],
    );
    expect(left.n).toBe(0);
  }, 60_000);
});
