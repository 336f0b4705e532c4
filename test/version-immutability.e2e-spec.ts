import { Readable } from 'node:stream';
import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp, textItems } from './support/app';

// A dataset version is a commit: once answered, its export is the same forever, whatever imports, corrections
// and other commits run beside it or commit later. Property test: run them all at once, export each version
// right after its commit, and read every export again at the end.
describe('dataset versions under concurrent writes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api' });
  });
  afterAll(() => t.close());

  /** An NDJSON import of labeled items streamed slowly, so its transaction stays open across commits. */
  function slowImport(projectId: string, prefix: string, count: number, held?: Promise<void>) {
    async function* lines() {
      for (let i = 0; i < count; i++) {
        yield `${JSON.stringify({ externalId: `${prefix}-${i}`, text: `${prefix} ${i}`, label: i % 3 ? 'spam' : 'ham' })}\n`;
        if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await held;
    }
    return fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(lines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit).then(async (response) => {
      expect(response.status).toBe(200);
      return response.json();
    });
  }

  async function exportOf(projectId: string, version: number): Promise<string> {
    const response = await fetch(
      `${t.baseUrl}/v1/projects/${projectId}/versions/${version}/export?format=jsonl`,
      {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      },
    );
    expect(response.status).toBe(200);
    return response.text();
  }

  it('keeps every version exactly as it was answered, while imports, corrections and commits run', async () => {
    const projectId = await createProject(t, { name: 'busy' });
    const seeded = textItems(200, 'seed').map((item, i) => ({ ...item, label: i % 2 ? 'spam' : 'ham' }));
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, seeded)).body).toMatchObject({
      created: 200,
    });
    const items = (await t.call('GET', `/v1/projects/${projectId}/items?limit=200`)).body.data as {
      id: string;
    }[];
    const annotator = await createKey(t, 'annotator', projectId);

    let running = true;
    const imports = (async () => {
      for (let round = 0; running; round++) await slowImport(projectId, `import-${round}`, 150);
    })();
    const corrections = (async () => {
      for (let i = 0; running; i++) {
        const item = items[(i * 37) % items.length];
        const response = await t.call(
          'POST',
          `/v1/items/${item.id}/annotations`,
          { label: i % 2 ? 'ham' : 'spam' },
          annotator,
        );
        expect(response.status).toBe(201);
      }
    })();
    const answered: { number: number; labeled: number; text: string }[] = [];
    for (let round = 0; round < 12; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      const version = await t.call('POST', `/v1/projects/${projectId}/versions`, {
        message: `round ${round}`,
      });
      expect(version.status).toBe(201);
      const text = await exportOf(projectId, version.body.number);
      expect(text.trim().split('\n')).toHaveLength(version.body.counts.labeled);
      answered.push({ number: version.body.number, labeled: version.body.counts.labeled, text });
    }
    running = false;
    await Promise.all([imports, corrections]);

    for (const version of answered) expect(await exportOf(projectId, version.number)).toBe(version.text);
    // Versions grow as labels arrive; each one holds what it said it held.
    expect(answered.at(-1)!.labeled).toBeGreaterThan(answered[0].labeled);
  }, 120_000);

  /** Transactions of the service that have written and now wait for their client. */
  async function openWriters(): Promise<number> {
    const [{ n }] = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'labelloop' AND backend_xid IS NOT NULL
         AND state = 'idle in transaction'`,
    );
    return n;
  }

  /** An import that has written its first batch (2,500 rows) and then holds its transaction open. */
  async function heldImport(projectId: string, prefix: string) {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const before = await openWriters();
    const done = slowImport(projectId, prefix, 2_600, held);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if ((await openWriters()) > before) break;
      if (Date.now() > deadline) throw new Error('the import never wrote its first batch');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { release, done };
  }

  it('leaves out an import that commits after the version, even when another import committed before', async () => {
    const projectId = await createProject(t, { name: 'two imports' });
    const first = await heldImport(projectId, 'first');
    const second = await heldImport(projectId, 'second');
    first.release();
    expect(await first.done).toMatchObject({ created: 2_600 });
    const version = await t.call('POST', `/v1/projects/${projectId}/versions`, {
      message: 'between imports',
    });
    expect(version.body.counts.labeled).toBe(2_600);
    const exported = await exportOf(projectId, version.body.number);
    second.release();
    expect(await second.done).toMatchObject({ created: 2_600 });
    expect(await exportOf(projectId, version.body.number)).toBe(exported);
  }, 60_000);

  it('answers a commit while an import of the same or another project is held open', async () => {
    const busy = await createProject(t, { name: 'importing' });
    const other = await createProject(t, { name: 'other' });
    const seeded = textItems(5, 'x').map((item) => ({ ...item, label: 'spam' }));
    for (const projectId of [busy, other]) await t.call('POST', `/v1/projects/${projectId}/items`, seeded);
    const held = await heldImport(busy, 'held');
    // Both commits answer while the import's transaction is still open, holding what was committed.
    const commits = await Promise.all(
      [busy, other].map((projectId) =>
        t.call('POST', `/v1/projects/${projectId}/versions`, { message: 'now' }),
      ),
    );
    expect(commits.map((c) => c.body.counts.labeled)).toEqual([5, 5]);
    held.release();
    expect(await held.done).toMatchObject({ created: 2_600 });
    const after = await t.call('POST', `/v1/projects/${busy}/versions`, { message: 'after' });
    expect(after.body.counts.labeled).toBe(2_605);
  }, 60_000);
});
