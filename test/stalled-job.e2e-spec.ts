import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database';

// A trainer process killed mid-job (SIGKILL, no shutdown hooks): its lock expires, another trainer's
// stalled check moves the job back to waiting, that trainer runs it to the end, and the run yields exactly
// one ready model version. Real processes: an api and two trainers on one database, Redis and object store.
describe('stalled training job', () => {
  let db: TestDatabase;
  let objects: string;
  const processes: ChildProcess[] = [];
  const basePort = 4000 + Math.floor(Math.random() * 200) * 3;
  const admin = 'stalled-test-admin-key-0123456789';
  const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };

  function startRole(role: 'api' | 'trainer', port: number, env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', join(__dirname, '..', 'apps', 'server', 'src', 'main.ts')],
      {
        cwd: join(__dirname, '..'),
        env: { ...process.env, ...env, LABELLOOP_ROLE: role, PORT: String(port), HOST: '127.0.0.1' },
        stdio: 'ignore',
      },
    );
    processes.push(child);
    return child;
  }

  async function ready(port: number): Promise<void> {
    for (let attempt = 0; attempt < 600; attempt++) {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null);
      if (response?.ok) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error(`process on port ${port} did not become ready`);
  }

  async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((done) => setTimeout(done, 200));
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    objects = mkdtempSync(join(tmpdir(), 'labelloop-stalled-'));
  });
  afterAll(async () => {
    for (const child of processes)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db.drop();
    rmSync(objects, { recursive: true, force: true });
  });

  it('runs a job again on another trainer after its worker is killed, with one ready model', async () => {
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `stalled-${randomBytes(4).toString('hex')}`,
      STORAGE_DRIVER: 'fs',
      STORAGE_FS_ROOT: objects,
      ADMIN_API_KEY: admin,
      ML_BACKEND: 'cpu',
      // Short enough for a test; long enough to outlast the training, which can hold the event loop (and so
      // the lock renewal) for the whole fit on a busy CPU.
      JOB_LOCK_SECONDS: '20',
      LOG_LEVEL: 'error',
    };
    const [apiPort, firstPort, secondPort] = [basePort, basePort + 1, basePort + 2];
    const api = `http://127.0.0.1:${apiPort}`;
    startRole('api', apiPort, env);
    const first = startRole('trainer', firstPort, env);
    await Promise.all([ready(apiPort), ready(firstPort)]);

    // Real work that lasts: 500 epochs without early stopping of a small MLP in batches of 4.
    const project = (await (
      await fetch(`${api}/v1/projects`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          name: 'stalled',
          inputKind: 'tabular',
          labels: ['neg', 'pos'],
          holdoutFraction: 0.3,
          seed: 7,
          modelSpec: { architecture: 'mlp', hiddenUnits: [32], epochs: 500, batchSize: 4, patience: 0 },
        }),
      })
    ).json()) as { id: string };
    const rows = Array.from({ length: 60 }, (_, i) => {
      const x = ((i * 37) % 60) / 30 - 1 + 0.01;
      return { externalId: `row-${i}`, features: [x, (i % 7) / 7], label: x > 0 ? 'pos' : 'neg' };
    });
    const imported = await fetch(`${api}/v1/projects/${project.id}/items`, {
      method: 'POST',
      headers,
      body: JSON.stringify(rows),
    });
    expect(imported.status).toBe(200);
    const queued = await fetch(`${api}/v1/projects/${project.id}/train`, {
      method: 'POST',
      headers: { authorization: headers.authorization },
    });
    expect(queued.status).toBe(202);
    const { jobId } = (await queued.json()) as { jobId: string };

    type JobView = { id: string; state: string; progress?: { epoch?: number } };
    const job = async (): Promise<JobView | undefined> => {
      const response = await fetch(`${api}/v1/projects/${project.id}/jobs`, { headers });
      const body = (await response.json()) as { data: JobView[] };
      return body.data.find((j) => j.id === jobId);
    };

    // The first trainer is a few epochs in: kill it without any shutdown.
    await until(
      'the first trainer to start training',
      async () => {
        const view = await job();
        return view?.state === 'active' && (view.progress?.epoch ?? 0) >= 3 ? view : undefined;
      },
      60_000,
    );
    const killed = new Promise((done) => first.once('exit', done));
    first.kill('SIGKILL');
    await killed;
    const [interrupted] = await db.query<{ status: string }>('SELECT status FROM model_versions');
    expect(interrupted.status).toBe('training');

    startRole('trainer', secondPort, env);
    await ready(secondPort);
    const finished = await until(
      'the second trainer to finish the job',
      async () => {
        const view = await job();
        return view?.state === 'completed' || view?.state === 'failed' ? view : undefined;
      },
      150_000,
    );
    expect(finished).toEqual(expect.objectContaining({ state: 'completed' }));

    const models = await db.query<{ run_id: string; status: string; promoted: boolean }>(
      'SELECT run_id, status, promoted FROM model_versions',
    );
    expect(models).toEqual([
      {
        run_id: expect.stringMatching(new RegExp(`^${project.id}:${jobId}:\\d+$`)),
        status: 'ready',
        promoted: true,
      },
    ]);

    // The second trainer's metrics: the job it completed, the promoted model's accuracy, the queue counts.
    const metrics = await (await fetch(`http://127.0.0.1:${secondPort}/metrics`)).text();
    expect(metrics).toMatch(/job_duration_seconds_count\{queue="training",outcome="completed"\} 1/);
    expect(metrics).toMatch(/training_duration_seconds_count\{project="[^"]+"\} 1/);
    expect(metrics).toContain(`model_holdout_accuracy{project="${project.id}"}`);
    expect(metrics).toMatch(/queue_jobs\{queue="training",state="active"\} 0/);
    // The api never trained: it reads the promoted model's accuracy from the database.
    const apiMetrics = await (await fetch(`${api}/metrics`)).text();
    expect(apiMetrics).toContain(`model_holdout_accuracy{project="${project.id}"}`);
  }, 240_000);
});
