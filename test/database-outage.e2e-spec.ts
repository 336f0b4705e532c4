import { Readable } from 'node:stream';
import { ADMIN_KEY, createKey, createProject, startTestApp, type TestApp, textItems } from './support/app';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/wait-for';

const databaseServer = new URL(
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
);

function expectRetryLater(response: { status: number; headers: Headers; body: unknown }): void {
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(response.body).toEqual({
    statusCode: 503,
    error: 'Service Unavailable',
    message: expect.stringMatching(/database is unavailable/),
  });
}

// The database goes away (stopped, failing over, unreachable) and comes back. While it is away the service
// says so: not ready, and 503 with a retry hint instead of 500. When it returns, the service serves again
// without a restart.
describe('database outage', () => {
  let t: TestApp;
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await startTcpProxy(Number(databaseServer.port || 5432), databaseServer.hostname);
    t = await startTestApp(
      { LABELLOOP_ROLE: 'api', DATABASE_CONNECT_TIMEOUT_MS: '1000' },
      {
        serviceDatabaseUrl: (url) => {
          const proxied = new URL(url);
          proxied.hostname = '127.0.0.1';
          proxied.port = String(proxy.port);
          return proxied.toString();
        },
      },
    );
  });
  // The database comes back after each test, whatever it found.
  afterEach(() => proxy.restore());
  afterAll(async () => {
    await t.close();
    await proxy.close();
  });

  it('answers 503 with Retry-After and reports not ready while the database is unreachable, then recovers', async () => {
    const projectId = await createProject(t);
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, textItems(20))).status).toBe(200);
    const annotator = await createKey(t, 'annotator', projectId);
    // Both keys are cached now: the requests below reach their handlers' queries.
    expect((await t.call('GET', `/v1/projects/${projectId}`)).status).toBe(200);
    expect((await t.call('GET', '/v1/projects', undefined, annotator)).status).toBe(200);
    expect((await t.call('GET', '/health/ready', undefined, null)).status).toBe(200);

    await proxy.cut();
    // Through Prisma, through the pool's hand-written SQL, and a key lookup that needs the database.
    expectRetryLater(await t.call('GET', `/v1/projects/${projectId}`));
    expectRetryLater(
      await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=1`, undefined, annotator),
    );
    expectRetryLater(await t.call('GET', '/v1/projects', undefined, 'an-unknown-key-0123456789'));
    const ready = await t.call('GET', '/health/ready', undefined, null);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database.status).toBe('error');
    expect(ready.body.checks.redis.status).toBe('ok');
    expect((await t.call('GET', '/health/live', undefined, null)).status).toBe(200);

    await proxy.restore();
    await waitFor(
      'ready again',
      async () => ((await t.call('GET', '/health/ready', undefined, null)).status === 200 ? true : undefined),
      15,
    );
    expect((await t.call('GET', `/v1/projects/${projectId}`)).status).toBe(200);
    const next = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=1`, undefined, annotator);
    expect(next.status).toBe(200);
    expect(next.body.data).toHaveLength(1);
  }, 60_000);

  it('answers 503 with Retry-After to a request whose connection the server terminated (a failover)', async () => {
    const projectId = await createProject(t);
    let sent = 0;
    async function* lines() {
      for (; sent < 30; sent++) {
        yield `${JSON.stringify({ externalId: `line-${sent}`, text: `line ${sent}` })}\n`;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const importing = fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(lines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    // The import's transaction is open once lines flow; end the service's sessions as a failover does.
    await waitFor('the first lines sent', async () => (sent >= 5 ? true : undefined), 5);
    const [{ ended }] = await t.db.query<{ ended: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS ended FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'labelloop'`,
    );
    expect(ended).toBeGreaterThan(0);
    const response = await importing;
    expectRetryLater({ status: response.status, headers: response.headers, body: await response.json() });
    // Nothing of it was kept, and the next import goes through on a new connection.
    expect(await t.db.query('SELECT 1 FROM items WHERE project_id = $1', [projectId])).toHaveLength(0);
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, textItems(3))).status).toBe(200);
  }, 60_000);
});
