import {
  acquisitionSpec,
  type Classifier,
  createRng,
  deriveSeed,
  evaluate,
  predictProbabilities,
  sampleIndices,
  scoreRows,
  selectBatch,
  takeRows,
  trainClassifier,
} from '@labelloop/ml';
import type { Run } from './curves';
import type { Data } from './datasets';
import { BALD_SUBSAMPLE, type Protocol } from './protocols';
import { STRATEGIES } from './strategies';

export interface JobResult extends Run {
  strategy: string;
  seed: number;
  seconds: number;
}

/**
 * One strategy x seed on libs/ml directly: a seeded random start set, then per round train, measure test
 * accuracy, and pick the next batch from the unlabeled pool, until the budget.
 */
export async function runJob(
  p: Protocol,
  strategy: string,
  seed: number,
  data: Data,
  warmStart: boolean,
  onRound: () => void,
): Promise<JobResult> {
  const started = Date.now();
  const spec = acquisitionSpec({ ...STRATEGIES[strategy], seed: deriveSeed(seed, 5) });
  const n = data.pool.rows;
  const labeled: number[] = sampleIndices(n, p.start, createRng(deriveSeed(seed, 4)));
  const isLabeled = new Uint8Array(n);
  for (const i of labeled) isLabeled[i] = 1;
  const labels: number[] = [];
  const accuracy: number[] = [];
  let previous: Classifier | undefined;
  for (let round = 0; ; round++) {
    const { model } = await trainClassifier({
      features: takeRows(data.pool, labeled),
      labels: labeled.map((i) => data.poolLabels[i]),
      numClasses: data.numClasses,
      spec: { ...p.model, seed: deriveSeed(seed, 6, round) },
      initFrom: warmStart ? previous : undefined,
    });
    previous?.dispose();
    previous = model;
    labels.push(labeled.length);
    accuracy.push(
      evaluate(predictProbabilities(model, data.test), data.testLabels, data.numClasses).accuracy,
    );
    onRound();
    if (labeled.length >= p.budget) break;
    const k = Math.min(p.batch, p.budget - labeled.length);
    let candidates: number[] = [];
    for (let i = 0; i < n; i++) if (!isLabeled[i]) candidates.push(i);
    if ((spec.strategy === 'bald' || spec.strategy === 'mc_margin') && candidates.length > BALD_SUBSAMPLE) {
      const rng = createRng(deriveSeed(seed, 7, round));
      candidates = sampleIndices(candidates.length, BALD_SUBSAMPLE, rng).map((j) => candidates[j]);
    }
    const roundSpec = { ...spec, seed: deriveSeed(spec.seed, round) };
    let picked: number[];
    if (spec.strategy === 'random') {
      picked = selectBatch({ scores: new Float32Array(candidates.length), batchSize: k, spec: roundSpec });
    } else {
      const scored = scoreRows(model, takeRows(data.pool, candidates), roundSpec, {
        embeddings: spec.diversity,
      });
      picked = selectBatch({
        scores: scored.scores,
        embeddings: scored.embeddings,
        probabilities: scored.probabilities,
        batchSize: k,
        spec: roundSpec,
      });
    }
    for (const j of picked) {
      labeled.push(candidates[j]);
      isLabeled[candidates[j]] = 1;
    }
  }
  previous?.dispose();
  return { strategy, seed, labels, accuracy, seconds: (Date.now() - started) / 1000 };
}
