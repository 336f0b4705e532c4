import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createTestDatabase, type TestDatabase } from './support/database';

// SIGTERM on a real process: readiness goes false first, a request in flight still
// completes, and the process exits 0.
describe('graceful shutdown', () => {
  let db: TestDatabase;
  let server: ChildProcess;
  const port = 3950 + Math.floor(Math.random() * 40);
  const base = `http://127.0.0.1:${port}`;
  const admin = 'shutdown-test-admin-key-0123456789';

  beforeAll(async () => {
    db = await createTestDatabase();
    server = spawn(
      process.execPath,
      ['-r', '@swc-node/register', join(__dirname, '..', 'apps', 'api', 'src', 'main.ts')],
      {
        cwd: join(__dirname, '..'),
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: db.url,
          ADMIN_API_KEY: admin,
          SHUTDOWN_DELAY_MS: '1500',
          LOG_LEVEL: 'error',
          STORAGE_FS_ROOT: join(__dirname, '..', '.data', `shutdown-test-${port}`),
        },
        stdio: 'ignore',
      },
    );
    for (let attempt = 0; attempt < 200; attempt++) {
      const ready = await fetch(`${base}/health/ready`).catch(() => null);
      if (ready?.ok) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error('server did not become ready');
  });
  afterAll(async () => {
    if (server.exitCode === null) server.kill('SIGKILL');
    await db.drop();
  });

  it('turns readiness false, finishes the request in flight and exits 0', async () => {
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
    const project = (await (
      await fetch(`${base}/v1/projects`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'shutdown', inputKind: 'text', labels: ['a', 'b'] }),
      })
    ).json()) as { id: string };

    // An import whose body trickles in over ~2 s, so it is in flight when SIGTERM arrives.
    async function* slowLines() {
      for (let i = 0; i < 20; i++) {
        yield `${JSON.stringify({ externalId: `x${i}`, text: `line ${i}` })}\n`;
        await new Promise((done) => setTimeout(done, 100));
      }
    }
    const inFlight = fetch(`${base}/v1/projects/${project.id}/items`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(slowLines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    await new Promise((done) => setTimeout(done, 300));
    const exited = new Promise<number | null>((done) => server.once('exit', (code) => done(code)));
    server.kill('SIGTERM');
    await new Promise((done) => setTimeout(done, 300));

    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, unknown> }).checks.shutdown).toMatchObject({
      status: 'error',
    });

    const imported = await inFlight;
    expect(imported.status).toBe(200);
    expect(await imported.json()).toMatchObject({ created: 20 });
    expect(await exited).toBe(0);
    const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM items');
    expect(n).toBe(20);
  });
});
