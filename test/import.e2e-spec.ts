import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ADMIN_KEY, createProject, startTestApp, textItems, type TestApp } from './support/app';
import { NDJSON_HEADERS, expectRejectedWithoutWrites, ndjson } from './support/expect';

const COUNT = 20_000;
const BODY_LIMIT_BYTES = 64 * 1024;

/** POSTs NDJSON as a chunked stream (no Content-Length), a few hundred lines per chunk. */
async function streamNdjson(t: TestApp, projectId: string, rows: unknown[]) {
  async function* chunks() {
    for (let start = 0; start < rows.length; start += 500) {
      yield new TextEncoder().encode(ndjson(rows.slice(start, start + 500)));
    }
  }
  const body = ReadableStream.from(chunks());
  const response = await fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...NDJSON_HEADERS },
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, body: await response.json() };
}

async function projectCounts(t: TestApp, projectId: string) {
  const [row] = await t.db.query(
    `SELECT (SELECT count(*)::int FROM items WHERE project_id = $1) AS items,
            (SELECT count(*)::int FROM tasks WHERE project_id = $1) AS tasks,
            (SELECT count(*)::int FROM annotations WHERE project_id = $1) AS annotations`,
    [projectId],
  );
  return row;
}

function png(width: number, height: number, shade: number): Buffer {
  const image = new PNG({ width, height });
  image.data.fill(shade);
  return PNG.sync.write(image);
}

describe('item import', () => {
  let t: TestApp;

  // A small body limit: streamed NDJSON is not buffered, so it is not held to it.
  beforeAll(async () => {
    t = await startTestApp({ BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) });
  });
  afterAll(() => t.close());

  describe('20,000 text items as one streamed NDJSON request', () => {
    let projectId: string;
    const items = textItems(COUNT, 'bulk');

    beforeAll(async () => {
      projectId = await createProject(t, { name: 'bulk', holdoutFraction: 0.2, seed: 42 });
    });

    // Tasks are a bounded cold-start queue (COLD_START_QUEUE_SIZE) of pool items plus the holdout's share of
    // it (holdoutFraction 0.2), topped up as annotators lease.
    const queued = () => Math.ceil(1.2 * t.config.tasks.coldStartQueueSize);

    it('creates every item and fills the task queue, well past the JSON body limit', async () => {
      expect(Buffer.byteLength(ndjson(items))).toBeGreaterThan(10 * BODY_LIMIT_BYTES);
      const response = await streamNdjson(t, projectId, items);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: COUNT, created: COUNT, existing: 0 });
      expect(await projectCounts(t, projectId)).toEqual({ items: COUNT, tasks: queued(), annotations: 0 });
    });

    it('is idempotent by externalId: a re-import creates nothing', async () => {
      const response = await streamNdjson(t, projectId, items);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: COUNT, created: 0, existing: COUNT });
      expect(await projectCounts(t, projectId)).toEqual({ items: COUNT, tasks: queued(), annotations: 0 });
    });

    it('holds out about holdoutFraction of the items', async () => {
      const [{ holdout }] = await t.db.query<{ holdout: number }>(
        `SELECT count(*)::int AS holdout FROM items WHERE project_id = $1 AND split = 'holdout'`,
        [projectId],
      );
      expect(holdout / COUNT).toBeGreaterThan(0.18);
      expect(holdout / COUNT).toBeLessThan(0.22);
    });

    it('gives the same externalId the same split in another project with the same seed', async () => {
      const twin = await createProject(t, { name: 'twin', holdoutFraction: 0.2, seed: 42 });
      const other = await createProject(t, { name: 'other seed', holdoutFraction: 0.2, seed: 7 });
      // Another order and a subset: the split depends on the id and seed alone.
      const subset = items.slice(0, 5_000).reverse();
      expect((await streamNdjson(t, twin, subset)).body).toMatchObject({ created: 5_000 });
      expect((await streamNdjson(t, other, subset)).body).toMatchObject({ created: 5_000 });

      const compare = async (project: string) => {
        const [row] = await t.db.query<{ same: number; differ: number }>(
          `SELECT count(*) FILTER (WHERE a.split = b.split)::int AS same,
                  count(*) FILTER (WHERE a.split <> b.split)::int AS differ
           FROM items a JOIN items b USING (external_id) WHERE a.project_id = $1 AND b.project_id = $2`,
          [projectId, project],
        );
        return row;
      };
      expect(await compare(twin)).toEqual({ same: 5_000, differ: 0 });
      expect((await compare(other)).differ).toBeGreaterThan(0);
    });

    it('rolls back batches already written when a later line is bad', async () => {
      const project = await createProject(t, { name: 'rollback' });
      const rows: unknown[] = textItems(6_000, 'rb');
      rows[5_499] = { externalId: 'rb-5499' };
      const response = await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${project}/items`, ndjson(rows), ADMIN_KEY, NDJSON_HEADERS),
        400,
        /^line 5500: text: /,
      );
      expect(response.body.details).toMatchObject({ line: 5500 });
      expect(await projectCounts(t, project)).toEqual({ items: 0, tasks: 0, annotations: 0 });
    });
  });

  describe('image items', () => {
    it('puts base64 PNG bytes in the object store and keeps the key on the item', async () => {
      const projectId = await createProject(t, {
        name: 'images',
        inputKind: 'image',
        labels: ['cat', 'dog'],
      });
      const cat = png(8, 8, 40);
      const dog = png(8, 8, 200);
      const response = await t.call('POST', `/v1/projects/${projectId}/items`, [
        { externalId: 'cat-1', imageBase64: cat.toString('base64') },
        { externalId: 'dog-1', imageBase64: dog.toString('base64'), metadata: { source: 'camera 2' } },
      ]);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ received: 2, created: 2, existing: 0 });

      const rows = await t.db.query<{
        external_id: string;
        object_key: string;
        payload: unknown;
        metadata: unknown;
      }>(
        `SELECT external_id, object_key, payload, metadata FROM items WHERE project_id = $1 ORDER BY external_id`,
        [projectId],
      );
      const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
      expect(rows).toEqual([
        {
          external_id: 'cat-1',
          object_key: `projects/${projectId}/items/${sha(cat)}`,
          payload: null,
          metadata: {},
        },
        {
          external_id: 'dog-1',
          object_key: `projects/${projectId}/items/${sha(dog)}`,
          payload: null,
          metadata: { source: 'camera 2' },
        },
      ]);

      const store = t.app.get<ObjectStore>(OBJECT_STORE);
      expect(await store.stat(rows[0].object_key)).toMatchObject({ size: cat.length });
      expect((await store.get(rows[0].object_key)).equals(cat)).toBe(true);
      expect((await store.get(rows[1].object_key)).equals(dog)).toBe(true);

      const leased = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=2`);
      expect(leased.body.data.map((task: { objectKey: string }) => task.objectKey).sort()).toEqual(
        rows.map((row) => row.object_key).sort(),
      );
    });

    it('rejects an image that is not base64, naming the item and field, writing nothing', async () => {
      const projectId = await createProject(t, {
        name: 'bad images',
        inputKind: 'image',
        labels: ['cat', 'dog'],
      });
      await expectRejectedWithoutWrites(
        t,
        () =>
          t.call('POST', `/v1/projects/${projectId}/items`, [
            { externalId: 'ok', imageBase64: png(2, 2, 1).toString('base64') },
            { externalId: 'bad', imageBase64: 'not base64!' },
          ]),
        400,
        /^item 2: imageBase64: /,
      );
    });
  });

  describe('tabular items', () => {
    it('stores feature vectors and named features as the payload', async () => {
      const projectId = await createProject(t, {
        name: 'table',
        inputKind: 'tabular',
        labels: ['yes', 'no'],
      });
      const response = await t.call('POST', `/v1/projects/${projectId}/items`, [
        { externalId: 'row-1', features: [0.5, 1, -2] },
        { externalId: 'row-2', features: { age: 41, city: 'Lyon', member: true, income: null } },
      ]);
      expect(response.body).toEqual({ received: 2, created: 2, existing: 0 });
      const rows = await t.db.query(
        `SELECT external_id, payload FROM items WHERE project_id = $1 ORDER BY 1`,
        [projectId],
      );
      expect(rows).toEqual([
        { external_id: 'row-1', payload: { features: [0.5, 1, -2] } },
        {
          external_id: 'row-2',
          payload: { features: { age: 41, city: 'Lyon', member: true, income: null } },
        },
      ]);
    });

    it('rejects features of the wrong type, naming the item and field', async () => {
      const projectId = await createProject(t, {
        name: 'bad table',
        inputKind: 'tabular',
        labels: ['yes', 'no'],
      });
      await expectRejectedWithoutWrites(
        t,
        () => t.call('POST', `/v1/projects/${projectId}/items`, [{ externalId: 'row-1', features: 'tall' }]),
        400,
        /^item 1: features: /,
      );
    });
  });

  describe('imported labels', () => {
    it('become annotations with source import, and the item gets no task', async () => {
      const projectId = await createProject(t, { name: 'prelabeled' });
      const rows = [
        { externalId: 'known', text: 'win money now', label: 'spam' },
        { externalId: 'unknown', text: 'see you at lunch' },
      ];
      const response = await t.call(
        'POST',
        `/v1/projects/${projectId}/items`,
        ndjson(rows),
        ADMIN_KEY,
        NDJSON_HEADERS,
      );
      expect(response.body).toEqual({ received: 2, created: 2, existing: 0 });

      const items = await t.db.query(
        `SELECT i.external_id, i.label, (SELECT count(*)::int FROM tasks t WHERE t.item_id = i.id) AS tasks
         FROM items i WHERE i.project_id = $1 ORDER BY 1`,
        [projectId],
      );
      expect(items).toEqual([
        { external_id: 'known', label: 'spam', tasks: 0 },
        { external_id: 'unknown', label: null, tasks: 1 },
      ]);
      const annotations = await t.db.query(
        `SELECT label, annotator, source, lead_time_ms FROM annotations WHERE project_id = $1`,
        [projectId],
      );
      expect(annotations).toEqual([
        { label: 'spam', annotator: 'admin (ADMIN_API_KEY)', source: 'import', lead_time_ms: null },
      ]);

      // A re-import neither duplicates the annotation nor opens a task.
      await t.call('POST', `/v1/projects/${projectId}/items`, ndjson(rows), ADMIN_KEY, NDJSON_HEADERS);
      expect(await projectCounts(t, projectId)).toEqual({ items: 2, tasks: 1, annotations: 1 });

      const stats = await t.call('GET', `/v1/projects/${projectId}/stats`);
      expect(stats.body).toMatchObject({ items: 2, labeled: 1, perLabel: { spam: 1 }, tasks: { open: 1 } });
    });
  });
});
