import { loadConfig } from '@labelloop/config';
import { modelSpec } from '@labelloop/ml';
import { createLogger } from '@labelloop/observability';
import type { ObjectStore } from '@labelloop/storage';
import { ComputePool, laneNice, workerKind } from './compute-pool';
import type { EpochProgress, FitRequest } from './messages';

/** Dense tabular rows, label = sign of f0: enough of them that a fit takes a few seconds on the cpu backend. */
function request(n: number, epochs: number): FitRequest {
  const inputs = Array.from({ length: n }, (_, i) => {
    const row: Record<string, number> = {};
    for (let f = 0; f < 32; f++) row[`f${f}`] = ((i * (f + 7)) % 17) / 17 - 0.5;
    row.f0 = i % 2 === 0 ? -1 : 1;
    return row;
  });
  return {
    kind: 'tabular',
    labels: ['neg', 'pos'],
    spec: modelSpec({ hiddenUnits: [128, 64], epochs, patience: 0, minSteps: 1, seed: 1 }),
    train: { inputs, labels: inputs.map((row) => (row.f0 > 0 ? 1 : 0)) },
    holdout: { inputs: [], labels: [] },
  };
}

function poolOf(workers: 'thread' | 'process') {
  const config = loadConfig({ ML_BACKEND: 'cpu', ML_WORKERS: workers, LOG_LEVEL: 'silent' });
  const store = {} as ObjectStore; // no model is loaded from the store in these tests
  return new ComputePool(config, createLogger('silent'), store);
}

describe('ComputePool', () => {
  it('takes child processes where a native backend is installed, else worker threads', () => {
    expect(workerKind('process')).toBe('process');
    expect(workerKind('thread')).toBe('thread');
    expect(['thread', 'process']).toContain(workerKind('auto'));
  });

  for (const kind of ['thread', 'process'] as const) {
    it(`fits in a worker ${kind} while the event loop stays free, reporting each epoch`, async () => {
      const pool = poolOf(kind);
      try {
        await pool.backend('training'); // worker started and backend resolved before timing
        const gaps: number[] = [];
        let last = performance.now();
        const ticker = setInterval(() => {
          const now = performance.now();
          gaps.push(now - last);
          last = now;
        }, 10);
        const epochs: EpochProgress[] = [];
        const started = performance.now();
        const fitted = await pool.fit(request(2000, 6), (p) => epochs.push(p));
        const fitMs = performance.now() - started;
        clearInterval(ticker);
        expect(fitted.files.size).toBe(3);
        expect(fitted.backend).toBe('cpu');
        expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
        // The fit took a while, and the event loop ticked all along (no gap near the fit's length).
        expect(fitMs).toBeGreaterThan(300);
        expect(Math.max(...gaps)).toBeLessThan(Math.min(200, fitMs / 2));
      } finally {
        await pool.onApplicationShutdown();
      }
    });
  }

  it('runs a fit beside a k-fold instead of behind it, the k-fold at a lower priority', async () => {
    expect(laneNice('training', 10)).toBe(10);
    expect(laneNice('background', 10)).toBe(15);
    expect(laneNice('background', 17)).toBe(19);
    const pool = poolOf('thread');
    try {
      const long = request(1500, 6);
      let kfoldDone = false;
      await pool.stageRows('kfold', long.train);
      const kfold = pool
        .outOfSample({ kind: 'tabular', numClasses: 2, spec: long.spec, rowsId: 'kfold', folds: 5 })
        .then(() => {
          kfoldDone = true;
        });
      await pool.fit(request(200, 1));
      // The short fit finished while the five-fit k-fold was still running (shutdown then stops the k-fold).
      expect(kfoldDone).toBe(false);
      kfold.catch(() => undefined);
    } finally {
      await pool.onApplicationShutdown();
    }
  });

  it('refuses work once shut down', async () => {
    const pool = poolOf('thread');
    await pool.onApplicationShutdown();
    await expect(pool.backend()).rejects.toThrow(/shut down/);
  });
});
