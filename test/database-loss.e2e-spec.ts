import { Readable } from 'node:stream';
import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp, textItems } from './support/app';

// A PostgreSQL failover ends every connection, also those a request holds checked out (an import's
// transaction, a queue top-up). The process must live through it and serve again once the database answers.
describe('database connections lost', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api' });
  });
  afterAll(() => t.close());

  /** What a failover does to this service's sessions. */
  async function terminateBackends(): Promise<number> {
    const [{ ended }] = await t.db.query<{ ended: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'labelloop'`,
    );
    return ended;
  }

  /** An NDJSON import that sends a line every 100 ms: its transaction holds a checked-out connection. */
  function slowImport(projectId: string): Promise<number> {
    async function* lines() {
      for (let i = 0; i < 40; i++) {
        yield `${JSON.stringify({ externalId: `slow-${i}`, text: `slow ${i}` })}\n`;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(lines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit).then(
      (response) => response.status,
      () => 0,
    );
  }

  it('survives its backends being terminated mid-transaction and serves again', async () => {
    const projectId = await createProject(t);
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, textItems(50))).status).toBe(200);
    const annotator = await createKey(t, 'annotator', projectId);

    for (let round = 0; round < 3; round++) {
      const importing = slowImport(projectId);
      const leasing = Promise.all(
        Array.from({ length: 8 }, () =>
          t
            .call('GET', `/v1/projects/${projectId}/tasks/next?limit=2`, undefined, annotator)
            .catch(() => null),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await terminateBackends()).toBeGreaterThan(0);
      await importing;
      await leasing;
      expect((await fetch(`${t.baseUrl}/health/live`)).status).toBe(200);
    }
    // The pool made new connections: requests succeed again.
    const deadline = Date.now() + 10_000;
    let projects = await t.call('GET', '/v1/projects');
    while (projects.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      projects = await t.call('GET', '/v1/projects');
    }
    expect(projects.status).toBe(200);
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=1`, undefined, annotator);
    expect(next.status).toBe(200);
  }, 60_000);
});
