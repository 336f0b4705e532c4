import { randomUUID } from 'node:crypto';
import { ADMIN_KEY, createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { NDJSON_HEADERS, expectRejectedWithoutWrites, ndjson, rowCounts } from './support/expect';

const BODY_LIMIT_BYTES = 4096;
const IMPORT_MAX_JSON_ITEMS = 5;

describe('bad input: one error shape, the right status, and nothing written', () => {
  let t: TestApp;
  let projectId: string;
  let itemId: string;
  let taskId: string;
  let annotator: string;

  beforeAll(async () => {
    t = await startTestApp({
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      IMPORT_MAX_JSON_ITEMS: String(IMPORT_MAX_JSON_ITEMS),
    });
    projectId = await createProject(t);
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, textItems(3, 'base'));
    expect(imported.body).toMatchObject({ created: 3 });
    annotator = await createKey(t, 'annotator', null, 'ann');
    const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=1`, undefined, annotator);
    [{ id: taskId, itemId }] = leased.body.data;
  });
  afterAll(() => t.close());

  async function taskRow(id: string) {
    const [row] = await t.db.query<{ status: string }>(`SELECT status FROM tasks WHERE id = $1`, [id]);
    return row;
  }

  describe('unknown label', () => {
    it('on a task annotation: 400 naming the label and the allowed set; the task stays leased', async () => {
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/tasks/${taskId}/annotation`, { label: 'eggs' }, annotator),
        400,
        /label "eggs" is not in the project's label set: spam, ham/,
      );
      expect(response.body.details).toEqual({ field: 'label', allowed: ['spam', 'ham'] });
      expect(await taskRow(taskId)).toEqual({ status: 'leased' });
    });

    it('on an item annotation: 400 naming the label and the allowed set; the item stays unlabeled', async () => {
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'eggs' }, annotator),
        400,
        /label "eggs" is not in the project's label set: spam, ham/,
      );
      expect(response.body.details).toMatchObject({ field: 'label', allowed: ['spam', 'ham'] });
      const [item] = await t.db.query(`SELECT label FROM items WHERE id = $1`, [itemId]);
      expect(item.label).toBeNull();
    });

    it('in an import line: 400 naming the line, the label and the allowed set', async () => {
      const rows = [
        { externalId: 'l-1', text: 'a', label: 'spam' },
        { externalId: 'l-2', text: 'b', label: 'eggs' },
      ];
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/items`, ndjson(rows), ADMIN_KEY, NDJSON_HEADERS),
        400,
        /^line 2: label "eggs" is not in the project's label set: spam, ham$/,
      );
      expect(response.body.details).toMatchObject({ line: 2, field: 'label', allowed: ['spam', 'ham'] });
    });
  });

  describe('unknown ids: 404 naming what was not found', () => {
    const missing = randomUUID();

    it.each([
      ['a missing project', 'GET', `/v1/projects/${missing}`, undefined, `project ${missing} not found`],
      ['a non-UUID project', 'GET', '/v1/projects/nope', undefined, 'project nope not found'],
      [
        'stats of a missing project',
        'GET',
        `/v1/projects/${missing}/stats`,
        undefined,
        `project ${missing} not found`,
      ],
      ['a missing item', 'GET', `/v1/items/${missing}`, undefined, `item ${missing} not found`],
      ['a non-UUID item', 'GET', '/v1/items/42', undefined, 'item 42 not found'],
    ])('reading %s', async (_what, method, path, body, message) => {
      await expectRejectedWithoutWrites(t, () => t.call(method, path, body), 404, message);
    });

    it.each([
      ['a missing project', missing],
      ['a non-UUID project', 'not-a-uuid'],
    ])('importing into %s writes nothing', async (_what, id) => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${id}/items`, textItems(2, 'lost')),
        404,
        `project ${id} not found`,
      );
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/projects/${id}/items`, ndjson(textItems(2, 'lost')), ADMIN_KEY, NDJSON_HEADERS),
        404,
        `project ${id} not found`,
      );
    });

    it.each([
      ['a missing item', missing],
      ['a non-UUID item', 'item-1'],
    ])('annotating %s writes nothing', async (_what, id) => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/items/${id}/annotations`, { label: 'spam' }, annotator),
        404,
        `item ${id} not found`,
      );
    });

    it.each([
      ['a missing task', missing],
      ['a non-UUID task', 'task-1'],
    ])('annotating, skipping or releasing %s writes nothing', async (_what, id) => {
      for (const action of ['annotation', 'skip', 'release']) {
        await expectRejectedWithoutWrites(
          t,
          () => t.call('POST', `/v1/tasks/${id}/${action}`, { label: 'spam' }, annotator),
          404,
          `task ${id} not found`,
        );
      }
    });

    it('leasing from a missing project', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', `/v1/projects/${missing}/tasks/next`, undefined, annotator),
        404,
        `project ${missing} not found`,
      );
    });
  });

  describe('malformed bodies', () => {
    it('malformed JSON: 400 naming the body', async () => {
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', '/v1/projects', '{"name": "x", "labels": [', ADMIN_KEY, {
            'content-type': 'application/json',
          }),
        400,
        /^body: malformed JSON/,
      );
    });

    it('malformed JSON on an annotation: 400 naming the body; the task stays leased', async () => {
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/tasks/${taskId}/annotation`, '{label: spam}', annotator, {
            'content-type': 'application/json',
          }),
        400,
        /^body: malformed JSON/,
      );
      expect(await taskRow(taskId)).toEqual({ status: 'leased' });
    });

    it('wrong type on a project: 400 naming the field', async () => {
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', '/v1/projects', { name: 42, inputKind: 'text', labels: ['a', 'b'] }),
        400,
        /^invalid body: name: /,
      );
      expect(response.body.details).toEqual([{ field: 'name', reason: expect.any(String) }]);
    });

    it('wrong type on an annotation: 400 naming the field; the task stays leased', async () => {
      const response = await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/tasks/${taskId}/annotation`, { label: 'spam', leadTimeMs: 'fast' }, annotator),
        400,
        /^invalid body: leadTimeMs: /,
      );
      expect(response.body.details).toEqual([{ field: 'leadTimeMs', reason: expect.any(String) }]);
      expect(await taskRow(taskId)).toEqual({ status: 'leased' });
    });

    it('a missing body on an annotation: 400 naming the body', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/tasks/${taskId}/annotation`, undefined, annotator),
        400,
        /^invalid body: /,
      );
    });

    it('wrong type in a query: 400 naming the parameter', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=lots`, undefined, annotator),
        400,
        /^limit: /,
      );
      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', `/v1/projects/${projectId}/items?labeled=maybe`),
        400,
        /^invalid query: labeled: /,
      );
    });
  });

  describe('size limits', () => {
    it('a body over BODY_LIMIT_BYTES: 413', async () => {
      const body = { name: 'x'.repeat(BODY_LIMIT_BYTES), inputKind: 'text', labels: ['a', 'b'] };
      await expectRejectedWithoutWrites(t, () => t.call('POST', '/v1/projects', body), 413, /.+/);
    });

    it('a JSON import over BODY_LIMIT_BYTES: 413', async () => {
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/projects/${projectId}/items`, [{ externalId: 'big', text: 'x'.repeat(5000) }]),
        413,
        /.+/,
      );
    });

    it('a JSON import over IMPORT_MAX_JSON_ITEMS: 400 naming the limit and NDJSON', async () => {
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/items`, textItems(IMPORT_MAX_JSON_ITEMS + 1, 'many')),
        400,
        `body: 6 items exceed the limit of ${IMPORT_MAX_JSON_ITEMS} per JSON request; send NDJSON (application/x-ndjson) for more`,
      );
      expect(response.body.details).toEqual({ field: 'items', limit: IMPORT_MAX_JSON_ITEMS });
    });
  });

  describe('auth', () => {
    it('a viewer key posting an annotation: 403; the task stays leased', async () => {
      const viewer = await createKey(t, 'viewer');
      for (const path of [`/v1/tasks/${taskId}/annotation`, `/v1/items/${itemId}/annotations`]) {
        await expectRejectedWithoutWrites(
          t,
          () => t.call('POST', path, { label: 'spam' }, viewer),
          403,
          'this route needs the annotator role; the key has viewer',
        );
      }
      expect(await taskRow(taskId)).toEqual({ status: 'leased' });
    });

    it('a key scoped to project A touching project B: 403', async () => {
      const projectA = await createProject(t, { name: 'A' });
      const projectB = await createProject(t, { name: 'B' });
      await t.call('POST', `/v1/projects/${projectB}/items`, textItems(2, 'b'));
      const [itemB] = await t.db.query<{ id: string }>(`SELECT id FROM items WHERE project_id = $1`, [
        projectB,
      ]);
      const scopedAnnotator = await createKey(t, 'annotator', projectA, 'scoped annotator');
      const scopedAdmin = await createKey(t, 'admin', projectA, 'scoped admin');
      const scoped = `this API key is scoped to project ${projectA}`;

      const attempts: [string, string, string, unknown][] = [
        [scopedAnnotator, 'GET', `/v1/projects/${projectB}`, undefined],
        [scopedAnnotator, 'GET', `/v1/projects/${projectB}/items`, undefined],
        [scopedAnnotator, 'GET', `/v1/projects/${projectB}/stats`, undefined],
        [scopedAnnotator, 'GET', `/v1/items/${itemB.id}`, undefined],
        [scopedAnnotator, 'GET', `/v1/projects/${projectB}/tasks/next?limit=2`, undefined],
        [scopedAnnotator, 'POST', `/v1/items/${itemB.id}/annotations`, { label: 'spam' }],
        [scopedAdmin, 'POST', `/v1/projects/${projectB}/items`, textItems(1, 'intruder')],
        [scopedAdmin, 'PATCH', `/v1/projects/${projectB}`, { name: 'taken over' }],
        [scopedAdmin, 'DELETE', `/v1/projects/${projectB}`, undefined],
      ];
      for (const [key, method, path, body] of attempts) {
        await expectRejectedWithoutWrites(t, () => t.call(method, path, body, key), 403, scoped);
      }
      const [tasks] = await t.db.query(
        `SELECT count(*)::int AS open FROM tasks WHERE project_id = $1 AND status = 'open'`,
        [projectB],
      );
      expect(tasks.open).toBe(2);
      const [project] = await t.db.query(`SELECT name FROM projects WHERE id = $1`, [projectB]);
      expect(project.name).toBe('B');
    });

    it('a task of project B annotated with a key scoped to project A: 403, the task stays leased', async () => {
      const projectA = await createProject(t, { name: 'A2' });
      const projectB = await createProject(t, { name: 'B2' });
      await t.call('POST', `/v1/projects/${projectB}/items`, textItems(1, 'b2'));
      const leased = await t.call('GET', `/v1/projects/${projectB}/tasks/next`, undefined, annotator);
      const scoped = await createKey(t, 'annotator', projectA, 'scoped');
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/tasks/${leased.body.data[0].id}/annotation`, { label: 'spam' }, scoped),
        403,
        `this API key is scoped to project ${projectA}`,
      );
      expect(await taskRow(leased.body.data[0].id)).toEqual({ status: 'leased' });
    });

    it('a missing key: 401', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'spam' }, null),
        401,
        'missing API key: send "Authorization: Bearer <key>"',
      );
      await expectRejectedWithoutWrites(
        t,
        () => t.call('GET', '/v1/projects', undefined, null),
        401,
        /missing API key/,
      );
    });

    it('an unknown key: 401', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/items/${itemId}/annotations`, { label: 'spam' }, 'll_not-a-real-key'),
        401,
        'unknown or revoked API key',
      );
    });
  });

  describe('bulk imports that fail name the line or item and write nothing of the request', () => {
    it('NDJSON with a bad line 37 of 100: 400 naming line 37, zero items and tasks written', async () => {
      const project = await createProject(t, { name: 'ndjson' });
      const lines = textItems(100, 'nd').map((item) => JSON.stringify(item));
      lines[36] = JSON.stringify({ externalId: 'nd-36', text: 12345 });
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${project}/items`, lines.join('\n'), ADMIN_KEY, NDJSON_HEADERS),
        400,
        /^line 37: text: /,
      );
      expect(response.body.details).toMatchObject({ line: 37, problems: [{ field: 'text' }] });
      const [counts] = await t.db.query(
        `SELECT (SELECT count(*)::int FROM items WHERE project_id = $1) AS items,
                (SELECT count(*)::int FROM tasks WHERE project_id = $1) AS tasks`,
        [project],
      );
      expect(counts).toEqual({ items: 0, tasks: 0 });
    });

    it('NDJSON with a line that is not JSON: 400 naming the line', async () => {
      const project = await createProject(t, { name: 'ndjson-syntax' });
      const lines = textItems(10, 'syn').map((item) => JSON.stringify(item));
      lines[4] = '{"externalId": "syn-4", "text": ';
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${project}/items`, lines.join('\n'), ADMIN_KEY, NDJSON_HEADERS),
        400,
        /^line 5: malformed JSON/,
      );
    });

    it('a JSON import with a bad item: 400 naming the item, nothing written', async () => {
      const project = await createProject(t, { name: 'json' });
      const items: unknown[] = textItems(4, 'js');
      items[2] = { externalId: 'js-2', text: 'fine', colour: 'blue' };
      const before = await rowCounts(t);
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${project}/items`, items),
        400,
        /^item 3: .*colour/,
      );
      expect(response.body.details).toMatchObject({ item: 3 });
      expect(await rowCounts(t)).toEqual(before);
    });

    it('a JSON import that is not an array: 400 naming the body', async () => {
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/items`, { externalId: 'x', text: 'y' }),
        400,
        'body: expected a JSON array of items or { "items": [...] }',
      );
    });
  });
});
