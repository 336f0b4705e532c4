import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ADMIN_KEY, createProject, startTestApp, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';
import { cutAfterMs } from '../apps/api/src/common/stalled-uploads';

const BODY_IDLE_TIMEOUT_MS = 1_000;

/** An NDJSON import sent by hand on one connection: headers that promise `contentLength` bytes, then `body`. */
function rawImport(t: TestApp, projectId: string, body: string, contentLength: number): Socket {
  const { port } = new URL(t.baseUrl);
  const socket = connect(Number(port), '127.0.0.1');
  socket.write(
    `POST /v1/projects/${projectId}/items HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Authorization: Bearer ${ADMIN_KEY}\r\nContent-Type: application/x-ndjson\r\n` +
      `Content-Length: ${contentLength}\r\n\r\n${body}`,
  );
  return socket;
}

/** Resolves with what the server sent before it closed the connection, and when it closed it. */
function untilClosed(socket: Socket): Promise<{ received: string; closedAt: number }> {
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve({ received, closedAt: Date.now() })));
}

function ndjson(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++)
    text += `${JSON.stringify({ externalId: `x-${i}`, text: `t ${i}` })}\n`;
  return text;
}

// Slow clients: one that stops sending mid-upload must not hold a connection and a transaction for ever; one
// whose upload is long but flowing must not be cut; one whose import failed mid-body must not be left with a
// connection that hangs.
describe('slow clients', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      LABELLOOP_ROLE: 'api',
      HTTP_BODY_IDLE_TIMEOUT_MS: String(BODY_IDLE_TIMEOUT_MS),
    });
  });
  afterAll(() => t.close());

  const idleInTransaction = async () =>
    (
      await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'labelloop' AND state = 'idle in transaction'`,
      )
    )[0].n;

  it('closes a stalled upload after the body idle timeout and leaves no transaction open', async () => {
    const projectId = await createProject(t);
    const socket = rawImport(t, projectId, ndjson(0, 20), 10_000_000);
    const closed = untilClosed(socket);
    const stalledAt = Date.now();
    // The import's transaction is open, waiting for the rest of the body.
    await waitFor(
      'the import transaction',
      async () => ((await idleInTransaction()) === 1 ? true : undefined),
      5,
    );

    const { closedAt } = await closed;
    const idleMs = closedAt - stalledAt;
    // Aimed a tenth early (cutAfterMs), so timer lag keeps it inside the setting when the machine is quiet.
    expect(idleMs).toBeGreaterThanOrEqual(cutAfterMs(BODY_IDLE_TIMEOUT_MS));
    expect(idleMs).toBeLessThan(BODY_IDLE_TIMEOUT_MS * 1.25 + 1_000);
    // The transaction was rolled back at once (not after DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS, 60 s),
    // and its connection went back to the pool: nothing of the upload was kept.
    await waitFor(
      'no open transaction',
      async () => ((await idleInTransaction()) === 0 ? true : undefined),
      2,
    );
    expect(await t.db.query('SELECT 1 FROM items WHERE project_id = $1', [projectId])).toHaveLength(0);

    // More stalled uploads than the pool has connections: each one's connection came back, so imports work.
    const stalled = Array.from({ length: 12 }, (_, i) =>
      untilClosed(rawImport(t, projectId, ndjson(i, 1), 1_000)),
    );
    await Promise.all(stalled);
    const response = await t.call('POST', `/v1/projects/${projectId}/items`, [
      { externalId: 'after', text: 'ok' },
    ]);
    expect(response.status).toBe(200);
    expect(response.body.created).toBe(1);
  }, 60_000);

  it('does not cut an upload that keeps flowing for longer than the idle timeout', async () => {
    const projectId = await createProject(t);
    async function* slowLines() {
      for (let i = 0; i < 16; i++) {
        yield ndjson(i, 1);
        await new Promise((resolve) => setTimeout(resolve, BODY_IDLE_TIMEOUT_MS / 4));
      }
    }
    const started = Date.now();
    const response = await fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(slowLines())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(Date.now() - started).toBeGreaterThan(3 * BODY_IDLE_TIMEOUT_MS);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 16, created: 16, existing: 0 });
  }, 60_000);

  it('does not cut a 200,000-line import while the server is the slow side', async () => {
    const projectId = await createProject(t);
    const lines = 200_000;
    async function* chunks() {
      for (let i = 0; i < lines; i += 5_000) yield ndjson(i, 5_000);
    }
    const response = await fetch(`${t.baseUrl}/v1/projects/${projectId}/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(Readable.from(chunks())) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: lines, created: lines, existing: 0 });
  }, 180_000);

  it('closes the connection after a 400 in the middle of an import body, so nothing hangs on it', async () => {
    const projectId = await createProject(t);
    // The bad second line is answered before the promised body has arrived: the rest is never sent.
    const socket = rawImport(t, projectId, `${ndjson(0, 1)}{"externalId": \n${ndjson(1, 5)}`, 1_000_000);
    const sentAt = Date.now();
    const { received, closedAt } = await untilClosed(socket);
    expect(received).toMatch(/^HTTP\/1\.1 400 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(received).toMatch(/line 2: malformed JSON/);
    // Closed by the server right after the answer, well before any idle timeout.
    expect(closedAt - sentAt).toBeLessThan(BODY_IDLE_TIMEOUT_MS);
    expect(await idleInTransaction()).toBe(0);
  }, 30_000);
});
