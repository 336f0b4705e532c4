import { createServer, type Server } from 'node:http';
import IORedis from 'ioredis';
import { PNG } from 'pngjs';
import { acknowledgedRows, AnnotatorLoops } from '../bench/support/annotators';
import { pngDeclaring } from '../bench/support/png';
import { answersPing, startBenchRedis, type BenchRedis } from '../bench/support/redis-server';
import { stallUpload } from '../bench/support/stalled-upload';
import { createKey, createProject, startTestApp, type TestApp, textItems } from './support/app';

// The tools bench:faults measures with. A tool that miscounts would report a fault as fixed (or not): each is
// checked against something whose answer is known.
describe('bench:faults tools', () => {
  let redis: BenchRedis | undefined;
  let app: TestApp | undefined;
  let http: Server | undefined;
  afterEach(async () => {
    await redis?.stop();
    await app?.close();
    await new Promise((done) => (http ? http.close(done) : done(undefined)));
    redis = app = http = undefined;
  });

  it('kills, restarts (empty, same port) and flushes a redis-server of its own', async () => {
    redis = await startBenchRedis();
    expect(redis.url).not.toMatch(/:6379$/);
    const client = new IORedis(redis.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    await client.set('kept', '1');
    await redis.flushAll();
    expect(await client.get('kept')).toBeNull();
    await client.set('kept', '1');
    client.disconnect();
    await redis.kill();
    expect(await answersPing(redis.url)).toBe(false);
    await redis.restart();
    const again = new IORedis(redis.url, { maxRetriesPerRequest: 1 });
    expect(await again.get('kept')).toBeNull();
    again.disconnect();
  });

  it('counts every acknowledged annotation, and finds each of them in the database', async () => {
    app = await startTestApp({ LABELLOOP_ROLE: 'api' });
    const projectId = await createProject(app);
    await app.call('POST', `/v1/projects/${projectId}/items`, textItems(400));
    const keys = [];
    for (let i = 0; i < 4; i++) keys.push(await createKey(app, 'annotator', projectId, `loop-${i}`));
    const loops = new AnnotatorLoops({ baseUrl: app.baseUrl, projectId, keys, labels: ['spam', 'ham'] });
    const from = Date.now();
    loops.start();
    await new Promise((done) => setTimeout(done, 1_500));
    const tally = await loops.stop();
    expect(tally.acks.length).toBeGreaterThan(0);
    expect(tally.failedRequests).toBe(0);
    expect(loops.acksBetween(from, Date.now())).toBe(tally.acks.length);
    const [{ n }] = await app.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM annotations WHERE project_id = $1 AND source = 'human'`,
      [projectId],
    );
    expect(n).toBe(tally.acks.length);
    const ids = tally.acks.map((ack) => ack.annotationId);
    expect(await acknowledgedRows(app.db.url, projectId, ids)).toBe(ids.length);
    // An id the database does not hold is not found.
    expect(
      await acknowledgedRows(app.db.url, projectId, [...ids, '00000000-0000-4000-8000-000000000000']),
    ).toBe(ids.length);
  });

  it('times a stalled upload until the server closes it, or gives up at the cap', async () => {
    // A server that drops a connection idle for 300 ms, and one that never does.
    let idleMs = 300;
    http = createServer((request) => request.socket.setTimeout(idleMs, () => request.socket.destroy()));
    await new Promise<void>((done) => http!.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/`;
    const closed = await stallUpload(url, { 'content-type': 'application/x-ndjson' }, '{"a":1}\n', 5_000);
    expect(closed.closedAfterMs).toBeGreaterThanOrEqual(250);
    expect(closed.closedAfterMs).toBeLessThan(2_000);
    idleMs = 60_000;
    const open = await stallUpload(url, { 'content-type': 'application/x-ndjson' }, '{"a":1}\n', 500);
    expect(open.closedAfterMs).toBeNull();
  });

  it('builds a tiny PNG whose valid header declares 16000 x 16000', async () => {
    const bytes = pngDeclaring(16_000, 16_000);
    expect(bytes.length).toBeLessThan(200);
    const metadata = await new Promise<{ width: number; height: number }>((resolve, reject) => {
      const png = new PNG();
      png.once('metadata', resolve);
      png.on('error', reject);
      // The signature, the IHDR chunk and the next chunk's length and type: pngjs checks the IHDR's CRC and
      // reports the metadata; the pixel data, too short for the size, is never sent.
      png.write(bytes.subarray(0, 41));
    });
    expect(metadata).toMatchObject({ width: 16_000, height: 16_000 });
  });
});
