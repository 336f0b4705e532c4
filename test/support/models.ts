import { JobQueues } from '@labelloop/queue';
import { createProject, type TestApp } from './app';

// Shared by the model registry, bundle and retraining tests: a small tabular project that trains in seconds
// (x decides the class; a categorical column exercises the featurizer's one-hot state).

export const PROJECT_LABELS = ['neg', 'pos'];

/** Deterministic jitter in [-0.5, 0.5). */
const jitter = (i: number) => ((i * 7919) % 1000) / 1000 - 0.5;

/** The features of row i: x around -1.5 (neg) or +1.5 (pos), or spread over [-3, 3] when unlabeled. */
export function features(i: number, label?: 'neg' | 'pos') {
  const x = label ? (label === 'neg' ? -1.5 : 1.5) + jitter(i) : -3 + ((i * 37) % 61) / 10;
  return { x, y: jitter(i + 500), color: ['red', 'green', 'blue'][i % 3] };
}

/** Labeled rows, alternating neg and pos. */
export function labeledRows(count: number, prefix = 'row') {
  return Array.from({ length: count }, (_, i) => {
    const label = i % 2 === 0 ? 'neg' : 'pos';
    return { externalId: `${prefix}-${i}`, features: features(i, label), label };
  });
}

/** Unlabeled pool rows. */
export function unlabeledRows(count: number, prefix = 'pool') {
  return Array.from({ length: count }, (_, i) => ({ externalId: `${prefix}-${i}`, features: features(i) }));
}

/** A tabular project with a fast linear model. */
export function modelProject(t: TestApp, overrides: Record<string, unknown> = {}): Promise<string> {
  return createProject(t, {
    inputKind: 'tabular',
    labels: PROJECT_LABELS,
    holdoutFraction: 0.3,
    seed: 5,
    modelSpec: { architecture: 'linear', epochs: 20, learningRate: 0.05 },
    ...overrides,
  });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Queues a training (optionally pinned) and waits for its job to finish; returns the job view. */
export async function trainAndWait(t: TestApp, projectId: string, body?: Record<string, unknown>) {
  const queued = await t.call('POST', `/v1/projects/${projectId}/train`, body);
  if (queued.status !== 202) throw new Error(`train refused: ${JSON.stringify(queued.body)}`);
  const job = await waitFor('training', async () => {
    const jobs = await t.call('GET', `/v1/projects/${projectId}/jobs`);
    const found = jobs.body.data.find((j: { id: string }) => j.id === queued.body.jobId);
    return found && (found.state === 'completed' || found.state === 'failed') ? found : undefined;
  });
  if (job.state !== 'completed') throw new Error(`training failed: ${job.failedReason}`);
  return job;
}

/** Waits until no scoring job of the project waits or runs; returns the newest finished one. */
export async function scoringSettled(t: TestApp, projectId: string) {
  const queue = t.app.get(JobQueues).scoring;
  return waitFor('scoring', async () => {
    const pending = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    if (pending.some((job) => job?.data.projectId === projectId)) return undefined;
    const done = (await queue.getJobs(['completed', 'failed'])).filter(
      (j) => j?.data.projectId === projectId,
    );
    done.sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0));
    return done[0];
  });
}
