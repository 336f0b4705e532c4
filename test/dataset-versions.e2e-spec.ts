import { PNG } from 'pngjs';
import { Client } from 'pg';
import { AnnotationsRepository, DatasetVersionsRepository } from '@labelloop/db';
import { ADMIN_KEY, createKey, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { NDJSON_HEADERS, expectError, expectRejectedWithoutWrites, rowCounts } from './support/expect';

interface ExportLine {
  externalId: string;
  text: string;
  label: string;
  annotator: string;
  labeledAt: string;
  metadata?: Record<string, unknown>;
}

/**
 * Datasets as repositories: label, commit v1, relabel, commit v2; the diff, exports of an old
 * version, export -> import into another project, item history and revert, and bad input.
 */
describe('dataset versions', () => {
  let t: TestApp;
  let projectId: string;
  let otherProjectId: string;
  let annotator: string;
  /** Item id by external id (ds-0 .. ds-5). */
  const ids: Record<string, string> = {};
  let v1: { id: string; number: number; watermark: string };
  let v1Export: string;

  beforeAll(async () => {
    t = await startTestApp();
    annotator = await createKey(t, 'annotator', null, 'alice');
    projectId = await createProject(t, { name: 'versions', labels: ['spam', 'ham', 'eggs'] });
    otherProjectId = await createProject(t, { name: 'other', labels: ['spam', 'ham', 'eggs'] });
    const items = textItems(6, 'ds').map((item, i) =>
      i === 4 ? { ...item, metadata: { source: 'mail' } } : item,
    );
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).status).toBe(200);
    const listed = await t.call('GET', `/v1/projects/${projectId}/items?limit=100`);
    for (const item of listed.body.data) ids[item.externalId] = item.id;
  });
  afterAll(() => t.close());

  async function label(externalId: string, value: string, key = annotator) {
    const response = await t.call('POST', `/v1/items/${ids[externalId]}/annotations`, { label: value }, key);
    expect(response.status).toBe(201);
    return response.body as { id: string; label: string | null };
  }

  async function exportText(version: string | number, format = 'jsonl', project = projectId) {
    const response = await fetch(
      `${t.baseUrl}/v1/projects/${project}/versions/${version}/export?format=${format}`,
      {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      },
    );
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  }

  function parseLines(text: string): ExportLine[] {
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  }

  async function versionCount(): Promise<number> {
    const [{ n }] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM dataset_versions`);
    return n;
  }

  it('commits v1 with the author from the API key, the watermark and the counts', async () => {
    await label('ds-0', 'spam');
    await label('ds-1', 'ham');
    await label('ds-2', 'spam');
    await label('ds-3', 'eggs');
    await label('ds-4', 'ham');
    const response = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'first labels' });
    expect(response.status).toBe(201);
    const [{ max }] = await t.db.query<{ max: string }>(
      `SELECT max(seq)::text AS max FROM annotations WHERE project_id = $1`,
      [projectId],
    );
    expect(response.body).toMatchObject({
      number: 1,
      parentId: null,
      parentNumber: null,
      message: 'first labels',
      author: 'admin (ADMIN_API_KEY)',
      watermark: max,
      counts: { labeled: 5, pool: 5, holdout: 0, perLabel: { spam: 2, ham: 2, eggs: 1 } },
    });
    v1 = response.body;
  });

  it('relabels, retracts by reverting a first label, and commits v2 as a child of v1', async () => {
    await label('ds-0', 'ham'); // changed spam -> ham
    await label('ds-1', 'eggs'); // changed ham -> eggs
    await label('ds-3', 'spam'); // relabeled and back: no change between the versions
    await label('ds-3', 'eggs');
    await label('ds-5', 'spam'); // added
    const [first] = (await t.call('GET', `/v1/items/${ids['ds-2']}/history`)).body.data;
    const retracted = await t.call('POST', `/v1/annotations/${first.id}/revert`, undefined, annotator);
    expect(retracted.status).toBe(201);
    expect(retracted.body).toMatchObject({
      label: null,
      source: 'review',
      annotator: 'alice',
      itemId: ids['ds-2'],
    });

    const item = await t.call('GET', `/v1/items/${ids['ds-2']}`);
    expect(item.body.label).toBeNull();
    const labeled = await t.call('GET', `/v1/projects/${projectId}/items?labeled=true&limit=100`);
    expect(labeled.body.data.map((i: { externalId: string }) => i.externalId).sort()).toEqual([
      'ds-0',
      'ds-1',
      'ds-3',
      'ds-4',
      'ds-5',
    ]);
    // The retracted item is back in the labeling queue.
    const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator);
    expect(leased.body.data.map((task: { itemId: string }) => task.itemId)).toEqual([ids['ds-2']]);
    await t.call('POST', `/v1/tasks/${leased.body.data[0].id}/release`, undefined, annotator);

    const v2 = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'relabel pass' });
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({
      number: 2,
      parentId: v1.id,
      parentNumber: 1,
      counts: { labeled: 5, perLabel: { spam: 1, ham: 2, eggs: 2 } },
    });
    const stats = await t.call('GET', `/v1/projects/${projectId}/stats`);
    expect(stats.body).toMatchObject({ labeled: 5, perLabel: { spam: 1, ham: 2, eggs: 2 } });
  });

  it('lists versions newest first and gets one by number or uuid', async () => {
    const list = await t.call('GET', `/v1/projects/${projectId}/versions?limit=1`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((v: { number: number }) => v.number)).toEqual([2]);
    expect(list.body.nextCursor).toBe(2);
    const rest = await t.call('GET', `/v1/projects/${projectId}/versions?limit=1&cursor=2`);
    expect(rest.body).toMatchObject({ data: [{ number: 1, id: v1.id }], nextCursor: null });
    const byNumber = await t.call('GET', `/v1/projects/${projectId}/versions/1`, undefined, annotator);
    const byId = await t.call('GET', `/v1/projects/${projectId}/versions/${v1.id}`);
    expect(byNumber.status).toBe(200);
    expect(byId.body).toEqual(byNumber.body);
  });

  it('diffs v1 and v2: exactly the changed, added and removed labels, paged', async () => {
    const diff = await t.call('GET', `/v1/projects/${projectId}/versions/1/diff/2`);
    expect(diff.status).toBe(200);
    expect(diff.body.from).toEqual({ id: v1.id, number: 1 });
    expect(diff.body.counts).toEqual({ added: 1, changed: 2, removed: 1, total: 4 });
    const expected = [
      { externalId: 'ds-0', change: 'changed', before: 'spam', after: 'ham' },
      { externalId: 'ds-1', change: 'changed', before: 'ham', after: 'eggs' },
      { externalId: 'ds-2', change: 'removed', before: 'spam', after: null },
      { externalId: 'ds-5', change: 'added', before: null, after: 'spam' },
    ].map((row) => ({ itemId: ids[row.externalId], ...row }));
    expect(diff.body.data).toEqual([...expected].sort((a, b) => a.itemId.localeCompare(b.itemId)));
    expect(diff.body.nextCursor).toBeNull();

    const pages: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: unknown[]; nextCursor: string | null } } = await t.call(
        'GET',
        `/v1/projects/${projectId}/versions/1/diff/2?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      pages.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(pages).toEqual(diff.body.data);

    const removed = await t.call('GET', `/v1/projects/${projectId}/versions/${v1.id}/diff/2?change=removed`);
    expect(removed.body.data).toEqual([expected[2]]);
    const backwards = await t.call('GET', `/v1/projects/${projectId}/versions/2/diff/1`);
    expect(backwards.body.counts).toEqual({ added: 1, changed: 2, removed: 1, total: 4 });
    expect(
      backwards.body.data.find((row: { externalId: string }) => row.externalId === 'ds-2'),
    ).toMatchObject({
      change: 'added',
      before: null,
      after: 'spam',
    });
  });

  it("exports v1 after v2 with v1's labels, annotators and times, as JSONL and CSV", async () => {
    const jsonl = await exportText(1);
    expect(jsonl.status).toBe(200);
    expect(jsonl.type).toMatch(/^application\/x-ndjson/);
    const lines = parseLines(jsonl.text);
    const rows = await t.db.query<{ item_id: string; created_at: Date }>(
      `SELECT DISTINCT ON (item_id) item_id, created_at FROM annotations
       WHERE project_id = $1 AND seq <= $2 ORDER BY item_id, seq DESC`,
      [projectId, v1.watermark],
    );
    const time = new Map(rows.map((row) => [row.item_id, row.created_at.toISOString()]));
    const v1Labels = { 'ds-0': 'spam', 'ds-1': 'ham', 'ds-2': 'spam', 'ds-3': 'eggs', 'ds-4': 'ham' };
    expect(lines).toEqual(
      Object.entries(v1Labels)
        .map(([externalId, value]) => ({
          externalId,
          text: `text number ${externalId.slice(3)} of ds`,
          ...(externalId === 'ds-4' ? { metadata: { source: 'mail' } } : {}),
          label: value,
          annotator: 'alice',
          labeledAt: time.get(ids[externalId]),
        }))
        .sort((a, b) => ids[a.externalId].localeCompare(ids[b.externalId])),
    );
    v1Export = jsonl.text;

    const csv = await exportText(v1.id, 'csv');
    expect(csv.status).toBe(200);
    expect(csv.type).toMatch(/^text\/csv/);
    const [header, ...csvRows] = csv.text.trim().split('\n');
    expect(header).toBe('externalId,split,label,annotator,labeledAt,text');
    expect(csvRows).toEqual(
      lines.map((line) =>
        [line.externalId, 'pool', line.label, 'alice', line.labeledAt, line.text].join(','),
      ),
    );
  });

  it('imports the JSONL export into a new project and reproduces the version', async () => {
    const copy = await createProject(t, { name: 'copy', labels: ['spam', 'ham', 'eggs'] });
    const imported = await t.call('POST', `/v1/projects/${copy}/items`, v1Export, ADMIN_KEY, NDJSON_HEADERS);
    expect(imported.body).toEqual({ received: 5, created: 5, existing: 0 });
    const annotations = await t.db.query<{ annotator: string; source: string }>(
      `SELECT annotator, source FROM annotations WHERE project_id = $1`,
      [copy],
    );
    expect(annotations).toHaveLength(5);
    expect(annotations.every((a) => a.annotator === 'alice' && a.source === 'import')).toBe(true);
    const committed = await t.call('POST', `/v1/projects/${copy}/versions`, { message: 'from export' });
    expect(committed.body.counts).toEqual({
      labeled: 5,
      pool: 5,
      holdout: 0,
      perLabel: { spam: 2, ham: 2, eggs: 1 },
    });
    const again = parseLines((await exportText(1, 'jsonl', copy)).text);
    const byExternalId = (rows: ExportLine[]) =>
      [...rows].sort((a, b) => a.externalId.localeCompare(b.externalId));
    expect(byExternalId(again)).toEqual(byExternalId(parseLines(v1Export)));
  });

  it('exports stored image bytes and tabular features so that they import as they were', async () => {
    const bytes = PNG.sync.write(new PNG({ width: 2, height: 3 })).toString('base64');
    const cases = [
      { inputKind: 'image', item: { externalId: 'img', imageBase64: bytes, label: 'spam' } },
      { inputKind: 'tabular', item: { externalId: 'row', features: { age: 3, city: 'Oslo' }, label: 'ham' } },
    ];
    for (const { inputKind, item } of cases) {
      const source = await createProject(t, { name: inputKind, inputKind, labels: ['spam', 'ham'] });
      expect((await t.call('POST', `/v1/projects/${source}/items`, [item])).status).toBe(200);
      await t.call('POST', `/v1/projects/${source}/versions`, { message: 'one item' });
      const exported = await exportText(1, 'jsonl', source);
      const [line] = parseLines(exported.text) as unknown as Record<string, unknown>[];
      expect(line).toEqual({ ...item, annotator: 'admin (ADMIN_API_KEY)', labeledAt: expect.any(String) });
      const copy = await createProject(t, { name: `${inputKind} copy`, inputKind, labels: ['spam', 'ham'] });
      const imported = await t.call(
        'POST',
        `/v1/projects/${copy}/items`,
        exported.text,
        ADMIN_KEY,
        NDJSON_HEADERS,
      );
      expect(imported.body.created).toBe(1);
      await t.call('POST', `/v1/projects/${copy}/versions`, { message: 'copy' });
      expect(parseLines((await exportText(1, 'jsonl', copy)).text)).toEqual([line]);
    }
  });

  it('shows the item history newest first and reverts an annotation without deleting any', async () => {
    const history = await t.call('GET', `/v1/items/${ids['ds-0']}/history`);
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({
      itemId: ids['ds-0'],
      externalId: 'ds-0',
      label: 'ham',
      nextCursor: null,
    });
    expect(
      history.body.data.map((a: { label: string; previousLabel: string | null }) => [
        a.label,
        a.previousLabel,
      ]),
    ).toEqual([
      ['ham', 'spam'],
      ['spam', null],
    ]);

    const relabel = history.body.data[0];
    const reverted = await t.call('POST', `/v1/annotations/${relabel.id}/revert`, undefined, annotator);
    expect(reverted.status).toBe(201);
    expect(reverted.body).toMatchObject({
      label: 'spam',
      source: 'review',
      revertedAnnotationId: relabel.id,
    });
    expect((await t.call('GET', `/v1/items/${ids['ds-0']}`)).body.label).toBe('spam');

    const after = await t.call('GET', `/v1/items/${ids['ds-0']}/history?limit=2`);
    expect(after.body.data.map((a: { label: string }) => a.label)).toEqual(['spam', 'ham']);
    const older = await t.call(
      'GET',
      `/v1/items/${ids['ds-0']}/history?limit=2&cursor=${after.body.nextCursor}`,
    );
    expect(older.body).toMatchObject({ data: [{ label: 'spam', previousLabel: null }], nextCursor: null });
    const [{ n }] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM annotations WHERE item_id = $1`,
      [ids['ds-0']],
    );
    expect(n).toBe(3);
  });

  it('numbers API commits and training versions in one sequence', async () => {
    const trainer = await t.app.get(DatasetVersionsRepository).freeze(projectId, 'training', 'trainer');
    expect(trainer.number).toBe(3);
    const next = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'after training' });
    expect(next.body).toMatchObject({ number: 4, parentNumber: 3, parentId: trainer.id });
  });

  it('never waits for a transaction still writing annotations, and never changes when it commits', async () => {
    const writer = new Client({ connectionString: t.db.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        `INSERT INTO annotations (project_id, item_id, label, annotator, source) VALUES ($1, $2, 'ham', 'slow', 'import')`,
        [projectId, ids['ds-5']],
      );
      await label('ds-4', 'eggs'); // a later seq, committed first
      // The commit answers while the writer's transaction is still open, without its annotation.
      const version = await t.call('POST', `/v1/projects/${projectId}/versions`, {
        message: 'during a write',
      });
      expect(version.body.number).toBe(5);
      const rows = (diff: { body: { data: { externalId: string; after: string }[] } }) =>
        diff.body.data.map((row) => [row.externalId, row.after]);
      const before = await t.call('GET', `/v1/projects/${projectId}/versions/4/diff/5`);
      expect(rows(before)).toEqual([['ds-4', 'eggs']]);
      const exported = (await exportText(5)).text;

      await writer.query('COMMIT');
      // Version 5 is as it was; the annotation that committed late belongs to the next version.
      expect((await exportText(5)).text).toBe(exported);
      expect(rows(await t.call('GET', `/v1/projects/${projectId}/versions/4/diff/5`))).toEqual(rows(before));
      const next = await t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'after the write' });
      expect(next.body.number).toBe(6);
      expect(rows(await t.call('GET', `/v1/projects/${projectId}/versions/5/diff/6`))).toEqual([
        ['ds-5', 'ham'],
      ]);
    } finally {
      await writer.end();
    }
  });

  it("reads a version's labeled items in pages that add up to the whole set, in id order", async () => {
    const datasets = t.app.get(DatasetVersionsRepository);
    const version = await datasets.freeze(projectId, 'training', 'trainer');
    for (const split of ['pool', 'holdout'] as const) {
      const whole = await datasets.labeledItems(projectId, version, split);
      const paged = [];
      for (let after: string | null = null; ;) {
        const page = await datasets.labeledItemsPage(projectId, version, split, after, 2);
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(2);
        paged.push(...page);
        after = page[page.length - 1].id;
      }
      expect(paged).toEqual(whole);
    }
    // The items labeled so far (a retracted one is unlabeled), split over pool and holdout.
    expect(
      (await datasets.labeledItems(projectId, version, 'pool')).length +
        (await datasets.labeledItems(projectId, version, 'holdout')).length,
    ).toBeGreaterThan(2);
  });

  describe('bad input: a clear 4xx and nothing written', () => {
    let otherVersion: string;

    beforeAll(async () => {
      otherVersion = (await t.call('POST', `/v1/projects/${otherProjectId}/versions`, { message: 'other' }))
        .body.id;
    });

    it('an unknown version is a 404, on every route', async () => {
      for (const path of [
        'versions/99',
        'versions/abc',
        'versions/0',
        'versions/00000000-0000-4000-8000-000000000000',
        'versions/99/diff/1',
        'versions/1/diff/99',
        'versions/99/export',
      ]) {
        expectError(await t.call('GET', `/v1/projects/${projectId}/${path}`), 404, /version .* not found/);
      }
    });

    it('a diff across projects is a 400', async () => {
      expectError(
        await t.call('GET', `/v1/projects/${projectId}/versions/1/diff/${otherVersion}`),
        400,
        /belongs to another project/,
      );
      expectError(
        await t.call('GET', `/v1/projects/${projectId}/versions/${otherVersion}/export`),
        400,
        /another project/,
      );
    });

    it('a bad export format or diff filter is a 400 naming it', async () => {
      const response = await t.call('GET', `/v1/projects/${projectId}/versions/1/export?format=xml`);
      expectError(response, 400, /format/);
      expectError(
        await t.call('GET', `/v1/projects/${projectId}/versions/1/diff/2?change=moved`),
        400,
        /change/,
      );
    });

    it('a commit with a bad body or by a non-admin writes no version', async () => {
      const before = await versionCount();
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/versions`, { message: '  ' }),
        400,
        /message/,
      );
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'x', parent: 1 }),
        400,
        /parent/,
      );
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'x' }, annotator),
        403,
        /role/,
      );
      expect(await versionCount()).toBe(before);
    });

    it('a revert of an unknown annotation, or from a key of another project, writes nothing', async () => {
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/annotations/00000000-0000-4000-8000-000000000000/revert`, undefined, annotator),
        404,
        /annotation .* not found/,
      );
      const scoped = await createKey(t, 'annotator', otherProjectId, 'scoped');
      const [first] = (await t.call('GET', `/v1/items/${ids['ds-1']}/history`)).body.data;
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/annotations/${first.id}/revert`, undefined, scoped),
        403,
        /scoped/,
      );
    });

    it('an import line with provenance but no label, or a future time, fails the import', async () => {
      const lines = [
        { externalId: 'p-1', text: 'x', annotator: 'bob' },
        { externalId: 'p-2', text: 'x', label: 'spam', labeledAt: '2999-01-01T00:00:00.000Z' },
        { externalId: 'p-3', text: 'x', label: 'spam', labeledAt: 'yesterday' },
      ];
      const reasons = [
        /annotator and labeledAt describe a label/,
        /labeledAt: must not be in the future/,
        /labeledAt/,
      ];
      for (const [index, line] of lines.entries()) {
        await expectRejectedWithoutWrites(
          t,
          () =>
            t.call(
              'POST',
              `/v1/projects/${projectId}/items`,
              `${JSON.stringify(line)}\n`,
              ADMIN_KEY,
              NDJSON_HEADERS,
            ),
          400,
          reasons[index],
        );
      }
    });

    it('retractForItem writes nothing for a missing item or one outside the scope', async () => {
      const repository = t.app.get(AnnotationsRepository);
      const before = await rowCounts(t);
      const input = { annotator: 'tool', source: 'human' as const };
      expect(
        await repository.retractForItem({ ...input, itemId: ids['ds-1'], scopeProjectId: otherProjectId }),
      ).toBeNull();
      expect(
        await repository.retractForItem({
          ...input,
          itemId: '00000000-0000-4000-8000-000000000000',
          scopeProjectId: null,
        }),
      ).toBeNull();
      expect(await rowCounts(t)).toEqual(before);
      expect((await t.call('GET', `/v1/items/${ids['ds-1']}`)).body.label).toBe('eggs');
    });

    it('history of an unknown item is a 404 and a bad cursor a 400', async () => {
      expectError(await t.call('GET', `/v1/items/00000000-0000-4000-8000-000000000000/history`), 404, /item/);
      expectError(await t.call('GET', `/v1/items/${ids['ds-0']}/history?cursor=abc`), 400, /cursor/);
    });
  });
});
