import { JobQueues, SCORE_NEW_JOB } from '@labelloop/queue';
import { createKey, createProject, startTestApp, type TestApp } from './support/app';
import { waitFor } from './support/wait-for';

// The loop as users run it: one process in the `all` role trains, scores and finds suspects while
// annotators label and a liveness probe polls. Model compute runs in worker threads, so neither labeling
// nor /health/live waits for TensorFlow.js.
describe('the loop under real use', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ LABELLOOP_ROLE: 'all', ML_BACKEND: 'wasm', COLD_START_QUEUE_SIZE: '200' });
  });
  afterAll(() => t.close());

  const SPAM = ['winner', 'prize', 'free', 'offer', 'cash', 'click', 'credit', 'cheap', 'viagra', 'urgent'];
  const HAM = [
    'meeting',
    'report',
    'lunch',
    'project',
    'review',
    'family',
    'schedule',
    'notes',
    'draft',
    'team',
  ];

  /** A short e-mail whose words say its class; `mixed` ones carry both kinds of words. */
  function text(i: number, label: 'spam' | 'ham', mixed = false): string {
    const own = label === 'spam' ? SPAM : HAM;
    const other = label === 'spam' ? HAM : SPAM;
    const words = Array.from({ length: 12 }, (_, k) => own[(i * 7 + k * 3) % own.length]);
    if (mixed) words.push(...Array.from({ length: 12 }, (_, k) => other[(i * 5 + k) % other.length]));
    return `message ${i}: ${words.join(' ')}`;
  }

  const trueLabel = (externalId: string): 'spam' | 'ham' =>
    Number(externalId.split('-').pop()) % 2 === 0 ? 'spam' : 'ham';

  /** A request's status and how long it took; a request that fails or passes 5 s counts as 5 s. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Answer = { status: number; ms: number; body: any };

  async function timed(url: string, init: RequestInit): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
      const body = await response.json().catch(() => null);
      return { status: response.status, ms: performance.now() - started, body };
    } catch {
      return { status: 0, ms: 5_000, body: null };
    }
  }

  it('answers every labeling request and liveness probe within 1 s while a text model trains', async () => {
    const projectId = await createProject(t, {
      inputKind: 'text',
      labels: ['spam', 'ham'],
      holdoutFraction: 0.1,
      acquisitionSpec: { retrainThreshold: 1000 },
    });
    const items = Array.from({ length: 3000 }, (_, i) => {
      const externalId = `mail-${i}`;
      const label = trueLabel(externalId);
      return { externalId, text: text(i, label), ...(i < 200 ? { label } : {}) };
    });
    for (let i = 0; i < items.length; i += 1000) {
      const chunk = items.slice(i, i + 1000);
      expect((await t.call('POST', `/v1/projects/${projectId}/items`, chunk)).body).toMatchObject({
        created: chunk.length,
      });
    }
    const keys = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createKey(t, 'annotator', projectId, `a${i}`)),
    );

    const train = await t.call('POST', `/v1/projects/${projectId}/train`);
    expect(train.status).toBe(202);
    const queues = t.app.get(JobQueues);
    let busy = true;
    const latencies: number[] = [];
    const failures: string[] = [];
    let labeled = 0;
    const probes: number[] = [];

    const annotator = async (key: string) => {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      while (busy) {
        const next = await timed(`${t.baseUrl}/v1/projects/${projectId}/tasks/next?limit=5`, { headers });
        latencies.push(next.ms);
        if (next.status !== 200) {
          failures.push(`tasks/next ${next.status}`);
          continue;
        }
        for (const task of next.body.data as { id: string; externalId: string }[]) {
          const done = await timed(`${t.baseUrl}/v1/tasks/${task.id}/annotation`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ label: trueLabel(task.externalId) }),
          });
          latencies.push(done.ms);
          if (done.status === 201) labeled++;
          else failures.push(`annotation ${done.status}`);
        }
      }
    };
    const prober = async () => {
      while (busy) {
        const live = await timed(`${t.baseUrl}/health/live`, {});
        probes.push(live.ms);
        if (live.status !== 200) failures.push(`health/live ${live.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const load = Promise.all([...keys.map(annotator), prober()]);
    try {
      // Labeling goes on through the training, the scoring it triggers and into the suspects k-fold after it.
      const job = await waitFor(
        'the training job',
        async () => (await queues.training.getJob(train.body.jobId)) ?? undefined,
      );
      await waitFor(
        'training to finish',
        async () => ((await job.isCompleted()) || (await job.isFailed()) ? true : undefined),
        180,
      );
      await waitFor('the suspects k-fold to start', async () => {
        const started = await queues.suspects.getJobs(['active', 'completed', 'failed']);
        return started.some((j) => j.data.projectId === projectId) ? true : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 3_000));
    } finally {
      busy = false;
      await load;
    }
    const job = await queues.training.getJob(train.body.jobId);
    expect(job?.failedReason).toBeUndefined();
    expect(failures).toEqual([]);
    expect(labeled).toBeGreaterThan(50);
    expect(Math.max(...latencies)).toBeLessThan(1_000);
    expect(Math.max(...probes)).toBeLessThan(1_000);
  }, 240_000);

  it('hands out items imported after the model ranked the pool, within seconds', async () => {
    // Every pool item is labeled before the first model: after it, the ranked queue is empty.
    const projectId = await createProject(t, {
      inputKind: 'text',
      labels: ['spam', 'ham'],
      holdoutFraction: 0,
    });
    const labeledItems = Array.from({ length: 60 }, (_, i) => {
      const externalId = `old-${i}`;
      return { externalId, text: text(i, trueLabel(externalId)), label: trueLabel(externalId) };
    });
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, labeledItems)).body).toMatchObject({
      created: 60,
    });
    expect((await t.call('POST', `/v1/projects/${projectId}/train`)).status).toBe(202);
    const queues = t.app.get(JobQueues);
    await waitFor('the first scoring', async () => {
      const done = await queues.scoring.getJobs(['completed', 'failed']);
      return done.find((j) => j.data.projectId === projectId);
    });
    const annotator = await createKey(t, 'annotator', projectId);
    expect(
      (await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator)).body.data,
    ).toEqual([]);

    const fresh = Array.from({ length: 30 }, (_, i) => ({
      externalId: `new-${i}`,
      text: text(100 + i, 'spam', true),
    }));
    const imported = Date.now();
    expect((await t.call('POST', `/v1/projects/${projectId}/items`, fresh)).body).toMatchObject({
      created: 30,
    });
    // A lease right away is never empty: scored new items if the scorer was quick, else unscored ones.
    const first = await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=5`, undefined, annotator);
    expect(first.body.data).toHaveLength(5);
    for (const task of first.body.data) expect(task.externalId).toMatch(/^new-/);
    // The import asked for a score-new: it scores the new items with the promoted model and ranks the open
    // ones, within the documented bound (README, "The queue never starves": seconds when the scorer is idle).
    await waitFor(
      'the new items scored',
      async () => {
        const done = await queues.scoring.getJobs(['completed']);
        return done.some(
          (j) => j.name === SCORE_NEW_JOB && j.data.projectId === projectId && j.returnvalue?.scored > 0,
        )
          ? true
          : undefined;
      },
      30,
    );
    expect(Date.now() - imported).toBeLessThan(15_000);
    const leased = (
      await t.call('GET', `/v1/projects/${projectId}/tasks/next?limit=10`, undefined, annotator)
    ).body.data as { externalId: string; preLabel: unknown }[];
    expect(leased).toHaveLength(10);
    for (const task of leased) {
      expect(task.externalId).toMatch(/^new-/);
      // Scored by the promoted model: a pre-label and a ranked priority.
      expect(task.preLabel).toMatchObject({ label: expect.stringMatching(/spam|ham/) });
    }
  }, 180_000);
});
