import { acquisitionSpec, type AcquisitionSpec, uncertainty } from '@labelloop/ml';
import { unitHash } from '../items/deterministic';

/**
 * Label Studio's "uncertainty sampling" serves the task whose prediction has the LOWEST score first, and its
 * prediction validation wants scores in [0, 1]. labelloop's acquisition scores are the other way round
 * (higher = label sooner) and on strategy-specific scales. So the score sent to Label Studio is
 *
 *   score = 1 - u / u_max
 *
 * where u is the project's strategy's uncertainty of the prediction and u_max its largest possible value
 * for K classes (margin: 1; least confidence: 1 - 1/K; entropy: ln K). It is monotone decreasing in u, so
 * LS's lowest-score-first order is labelloop's most-useful-first order, and for margin it is exactly the
 * gap between the two most likely classes (a confidence). Strategies that need MC-dropout passes (`bald`,
 * `mc_margin`) are served by their single-pass counterpart (`entropy`, `margin`): one prediction request
 * does not run the passes. `random` gets a seeded hash of the task, so LS serves a fixed random order.
 * Batch diversity is a property of a whole batch, not of one task's score, and is not expressed.
 */
export function labelStudioScores(
  storedSpec: unknown,
  probabilities: readonly (readonly number[])[],
  taskKeys: readonly string[],
): number[] {
  const spec = acquisitionSpec((storedSpec ?? {}) as Partial<AcquisitionSpec>);
  const numClasses = probabilities[0]?.length ?? 0;
  if (spec.strategy === 'random') return taskKeys.map((key) => unitHash(spec.seed, 'label-studio', key));
  const strategy = singlePassStrategy(spec.strategy);
  const flat = new Float32Array(probabilities.length * numClasses);
  probabilities.forEach((row, i) => flat.set(row, i * numClasses));
  const u = uncertainty(strategy, flat, numClasses);
  const max = maxUncertainty(strategy, numClasses);
  return Array.from(u, (value) => (max > 0 ? clamp01(1 - value / max) : 1));
}

type SinglePass = Parameters<typeof uncertainty>[0];

function singlePassStrategy(strategy: AcquisitionSpec['strategy']): SinglePass {
  if (strategy === 'bald') return 'entropy';
  if (strategy === 'mc_margin') return 'margin';
  return strategy as SinglePass;
}

function maxUncertainty(strategy: SinglePass, numClasses: number): number {
  if (strategy === 'entropy') return Math.log(numClasses);
  if (strategy === 'least_confidence') return 1 - 1 / numClasses;
  return 1;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
