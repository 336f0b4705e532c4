import { shouldPromote } from '@labelloop/db';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import type { Job } from 'bullmq';
import { PNG } from 'pngjs';
import { TrainingProcessor } from '../apps/trainer/src/training.processor';
import { createKey, createProject, startTestApp, type TestApp } from './support/app';

// The training loop end to end: import labeled items, ask for a training over the API, the trainer
// (same process, role all) freezes a dataset version, trains, evaluates, stores and promotes the model.
describe('training', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'cpu' });
  });
  afterAll(() => t.close());

  /** 60 separable rows: the label is the sign of the first feature. */
  const rows = (label?: string) =>
    Array.from({ length: 60 }, (_, i) => {
      const x = ((i * 37) % 60) / 30 - 1 + 0.01;
      return { externalId: `row-${i}`, features: [x, (i % 7) / 7], label: label ?? (x > 0 ? 'pos' : 'neg') };
    });

  async function tabularProject(label?: string): Promise<string> {
    const projectId = await createProject(t, {
      inputKind: 'tabular',
      labels: ['neg', 'pos'],
      holdoutFraction: 0.3,
      seed: 7,
      modelSpec: { architecture: 'linear', epochs: 20, learningRate: 0.05 },
    });
    const imported = await t.call('POST', `/v1/projects/${projectId}/items`, rows(label));
    expect(imported.body).toMatchObject({ created: 60 });
    return projectId;
  }

  async function trainAndWait(projectId: string) {
    const queued = await t.call('POST', `/v1/projects/${projectId}/train`);
    expect(queued.status).toBe(202);
    expect(queued.body).toEqual({ jobId: expect.any(String), state: expect.any(String) });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs`);
      expect(jobs.status).toBe(200);
      const job = jobs.body.data.find((j: { id: string }) => j.id === queued.body.jobId);
      if (job && (job.state === 'completed' || job.state === 'failed')) return job;
      if (Date.now() > deadline) throw new Error(`training did not finish: ${JSON.stringify(jobs.body)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('trains, records the dataset version, stores the artifact and promotes the model', async () => {
    const projectId = await tabularProject();
    const job = await trainAndWait(projectId);
    expect(job).toMatchObject({ state: 'completed', reason: 'manual', requestedBy: expect.any(String) });
    expect(job.progress).toMatchObject({ epoch: expect.any(Number), loss: expect.any(Number) });

    const models = await t.call('GET', `/v1/projects/${projectId}/models`);
    expect(models.status).toBe(200);
    expect(models.body.data).toHaveLength(1);
    const [model] = models.body.data;
    expect(model).toMatchObject({
      number: 1,
      status: 'ready',
      promoted: true,
      backend: 'cpu',
      datasetVersion: 1,
      trainMs: expect.any(Number),
    });
    expect(model.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(model.metrics.accuracy).toBeLessThanOrEqual(1);
    expect(model.metrics.macroF1).toEqual(expect.any(Number));
    expect(model.metrics.holdoutRows).toBeGreaterThan(0);

    const [version] = await t.db.query<{
      number: number;
      watermark: string;
      message: string;
      author: string;
      counts: { labeled: number; holdout: number };
    }>(
      'SELECT number, watermark::text, message, author, counts FROM dataset_versions WHERE project_id = $1',
      [projectId],
    );
    const [{ max }] = await t.db.query<{ max: string }>(
      'SELECT max(seq)::text AS max FROM annotations WHERE project_id = $1',
      [projectId],
    );
    expect(version).toMatchObject({ number: 1, watermark: max, message: 'training', author: 'trainer' });
    expect(version.counts.labeled).toBe(60);
    expect(version.counts.holdout).toBe(model.metrics.holdoutRows);

    const store = t.app.get<ObjectStore>(OBJECT_STORE);
    expect(model.artifactKey).toBe(`projects/${projectId}/models/${model.id}`);
    for (const name of ['manifest.json', 'model.json', 'weights.bin']) {
      expect(await store.stat(`${model.artifactKey}/${name}`)).toMatchObject({ size: expect.any(Number) });
    }

    // Same data again: promoted only when at least as accurate as the promoted model, and exactly one is.
    expect(await trainAndWait(projectId)).toMatchObject({ state: 'completed' });
    const again = await t.call('GET', `/v1/projects/${projectId}/models`);
    const [second, first] = again.body.data;
    expect(second).toMatchObject({ number: 2, status: 'ready', datasetVersion: 2 });
    const score = (m: { metrics: { accuracy: number; holdoutRows: number } }) => ({
      accuracy: m.metrics.accuracy,
      rows: m.metrics.holdoutRows,
    });
    expect(second.promoted).toBe(shouldPromote(score(second), score(first)));
    expect(first.promoted).toBe(!second.promoted);
  }, 120_000);

  it('trains on a seeded sample of at most maxTrainRows labeled pool items, the whole holdout', async () => {
    const projectId = await tabularProject();
    await t.call('PATCH', `/v1/projects/${projectId}`, { modelSpec: { maxTrainRows: 20 } });
    const job = await trainAndWait(projectId);
    expect(job.state).toBe('completed');
    const [model] = (await t.call('GET', `/v1/projects/${projectId}/models`)).body.data;
    const [split] = await t.db.query<{ pool: number; holdout: number }>(
      `SELECT count(*) FILTER (WHERE split = 'pool')::int AS pool, count(*) FILTER (WHERE split = 'holdout')::int AS holdout
       FROM items WHERE project_id = $1`,
      [projectId],
    );
    expect(split.pool).toBeGreaterThan(20);
    expect(model.metrics.trainRows + model.metrics.validationRows).toBe(20);
    expect(model.metrics.holdoutRows).toBe(split.holdout);
  });

  it('reuses the model row and dataset version when a job is retried', async () => {
    const projectId = await tabularProject();
    const job = {
      id: 'retried-1',
      timestamp: 1_700_000_000_000,
      data: { projectId, reason: 'manual' },
      updateProgress: async () => undefined,
    };
    const processor = t.app.get(TrainingProcessor);
    const first = await processor.process(job as unknown as Job);
    const second = await processor.process(job as unknown as Job);
    expect(second).toEqual(first);
    const models = await t.db.query('SELECT run_id, status FROM model_versions WHERE project_id = $1', [
      projectId,
    ]);
    expect(models).toEqual([{ run_id: `${projectId}:retried-1:1700000000000`, status: 'ready' }]);
    const versions = await t.db.query('SELECT number FROM dataset_versions WHERE project_id = $1', [
      projectId,
    ]);
    expect(versions).toEqual([{ number: 1 }]);
  }, 60_000);

  it('trains an image project from pixels and stored PNG bytes', async () => {
    const projectId = await createProject(t, {
      inputKind: 'image',
      labels: ['dark', 'bright'],
      holdoutFraction: 0.3,
      seed: 3,
      modelSpec: { architecture: 'linear', epochs: 20, learningRate: 0.05 },
    });
    const shade = (i: number) => (i % 2 === 0 ? 30 + (i % 5) * 10 : 200 + (i % 5) * 10);
    const items = Array.from({ length: 40 }, (_, i) => {
      const label = i % 2 === 0 ? 'dark' : 'bright';
      if (i % 4 < 2) return { externalId: `px-${i}`, pixels: new Array(16).fill(shade(i)), label };
      const png = new PNG({ width: 4, height: 4 });
      png.data.fill(shade(i));
      return { externalId: `png-${i}`, imageBase64: PNG.sync.write(png).toString('base64'), label };
    });
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, items)).body).toMatchObject({
      created: 40,
    });
    expect(await trainAndWait(projectId)).toMatchObject({ state: 'completed' });
    const models = await t.call('GET', `/v1/projects/${projectId}/models`);
    expect(models.body.data).toMatchObject([{ status: 'ready', promoted: true }]);
    expect(models.body.data[0].metrics.accuracy).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('fails a training with a single label at once, with a clear message', async () => {
    const projectId = await tabularProject('neg');
    const job = await trainAndWait(projectId);
    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/at least 2 distinct labels/);
    const models = await t.call('GET', `/v1/projects/${projectId}/models`);
    expect(models.body.data).toMatchObject([{ status: 'failed', promoted: false, error: job.failedReason }]);
  }, 120_000);

  it('answers 404 for an unknown project and 403 to a viewer asking for a training', async () => {
    const unknown = await t.call('POST', '/v1/projects/00000000-0000-4000-8000-000000000000/train');
    expect(unknown.status).toBe(404);
    const projectId = await createProject(t);
    const viewer = await createKey(t, 'viewer', projectId);
    expect((await t.call('POST', `/v1/projects/${projectId}/train`, undefined, viewer)).status).toBe(403);
    expect((await t.call('GET', `/v1/projects/${projectId}/jobs`, undefined, viewer)).status).toBe(200);
    expect((await t.call('GET', `/v1/projects/${projectId}/models`, undefined, viewer)).body).toEqual({
      data: [],
      nextCursor: null,
    });
  });
});

// The api role only enqueues: with no trainer running, a burst of requests queues one training per project.
describe('training requests on the api role', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'api' });
  });
  afterAll(() => t.close());

  it('folds a burst into the one waiting job of the project', async () => {
    const a = await createProject(t);
    const b = await createProject(t);
    const first = await t.call('POST', `/v1/projects/${a}/train`);
    const second = await t.call('POST', `/v1/projects/${a}/train`);
    const other = await t.call('POST', `/v1/projects/${b}/train`);
    expect(first.body).toEqual({ jobId: expect.any(String), state: 'waiting' });
    expect(second.body).toEqual(first.body);
    expect(other.body.jobId).not.toBe(first.body.jobId);
    const jobs = await t.call('GET', `/v1/projects/${a}/jobs`);
    expect(jobs.body.data).toMatchObject([
      { id: first.body.jobId, state: 'waiting', reason: 'manual', progress: 0 },
    ]);
  });
});
