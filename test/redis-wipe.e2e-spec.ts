import IORedis from 'ioredis';
import { createProject, startTestApp, type TestApp } from './support/app';

// Redis without persistence (the `npm start` child, any restart) loses every job: BullMQ's job ids start
// again at 1. A training must still get a model of its own project, never another project's.
describe('identity across a Redis wipe', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu' });
  });
  afterAll(() => t.close());

  const rows = Array.from({ length: 40 }, (_, i) => {
    const x = ((i * 37) % 40) / 20 - 1 + 0.01;
    return { externalId: `row-${i}`, features: [x, (i % 7) / 7], label: x > 0 ? 'pos' : 'neg' };
  });

  async function project(): Promise<string> {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0,
      modelSpec: { architecture: 'linear', epochs: 5, learningRate: 0.05 },
    });
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, rows)).body).toMatchObject({
      created: 40,
    });
    return projectId;
  }

  async function train(projectId: string): Promise<{ jobId: string; result: { modelVersionId: string } }> {
    const queued = await t.call('POST', `/v1/projects/${projectId}/train`);
    expect(queued.status).toBe(202);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs`);
      const job = jobs.body.data.find((j: { id: string }) => j.id === queued.body.jobId);
      if (job?.state === 'failed') throw new Error(`training failed: ${job.failedReason}`);
      if (job?.state === 'completed') return { jobId: job.id, result: job.result };
      if (Date.now() > deadline) throw new Error('training did not finish');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** What a Redis restart without persistence does to this service's keys. */
  async function wipeRedis(): Promise<void> {
    const redis = new IORedis(t.config.redis.url!);
    try {
      const keys = await redis.keys(`${t.config.redis.queuePrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  }

  it('gives each project its own new model after the job ids restart', async () => {
    const first = await project();
    const before = await train(first);
    await wipeRedis();
    const second = await project();
    const after = await train(second);
    // The same BullMQ job id again, and yet a model of the second project.
    expect(after.jobId).toBe(before.jobId);
    const [model] = (await t.call('GET', `/v1/projects/${second}/models`)).body.data;
    expect(model).toMatchObject({ projectId: second, status: 'ready' });
    expect(after.result.modelVersionId).toBe(model.id);
    // The first project keeps its one model, untouched.
    const firstModels = (await t.call('GET', `/v1/projects/${first}/models`)).body.data;
    expect(firstModels).toEqual([
      expect.objectContaining({ id: before.result.modelVersionId, status: 'ready' }),
    ]);
  }, 120_000);
});
