import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@labelloop/observability';
import { startRedis } from '../apps/server/src/infrastructure';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// `npm start` without a Redis runs redis-server as a child. A restart must find what it left: queued jobs,
// and job ids that go on from where they were (ids starting over at 1 made runs of different projects collide).
describe('redis-server child of npm start', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'labelloop-redis-'));
  afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

  it('keeps keys, queued jobs and job ids across a restart', async () => {
    const port = await freePort();
    const logger = createLogger('silent');

    const first = await startRedis(dataRoot, logger, port);
    const redis = new Redis(first.url, { maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    await redis.set('kept', 'yes');
    await redis.quit();
    const queue = new Queue('training', { connection: { url: first.url }, prefix: '{labelloop}' });
    const queued = await queue.add('train', { projectId: 'p1' });
    await queue.close();
    await first.stop();

    const second = await startRedis(dataRoot, logger, port);
    try {
      const reader = new Redis(second.url, { maxRetriesPerRequest: 1, lazyConnect: true });
      await reader.connect();
      expect(await reader.get('kept')).toBe('yes');
      await reader.quit();
      const again = new Queue('training', { connection: { url: second.url }, prefix: '{labelloop}' });
      const waiting = await again.getWaiting();
      expect(waiting.map((job) => [job.id, job.data])).toEqual([[queued.id, { projectId: 'p1' }]]);
      const next = await again.add('train', { projectId: 'p2' });
      expect(Number(next.id)).toBe(Number(queued.id) + 1);
      await again.close();
    } finally {
      await second.stop();
    }
  }, 60_000);
});
