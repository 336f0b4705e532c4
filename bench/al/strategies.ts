import { type AcquisitionSpec, DEFAULT_ACQUISITION } from '@labelloop/ml';

/** The strategies bench:al can compare, by the names its results use. */
export const STRATEGIES: Record<string, Partial<AcquisitionSpec>> = {
  random: { strategy: 'random', diversity: false },
  margin: { strategy: 'margin', diversity: false },
  entropy: { strategy: 'entropy', diversity: false },
  least_confidence: { strategy: 'least_confidence', diversity: false },
  bald: { strategy: 'bald', diversity: false, mcPasses: 10 },
  'margin+diversity': {
    strategy: 'margin',
    diversity: true,
    diversityMethod: 'k_center',
    candidateMultiplier: 5,
  },
  mc_margin: { strategy: 'mc_margin', diversity: false, mcPasses: 10 },
  'margin+balanced': { strategy: 'margin', diversity: false, classBalanced: true },
  'mc_margin+balanced': { strategy: 'mc_margin', diversity: false, mcPasses: 10, classBalanced: true },
  'bald+balanced': { strategy: 'bald', diversity: false, mcPasses: 10, classBalanced: true },
};

export const DEFAULT_STRATEGIES = ['random', 'margin', 'entropy', 'bald', 'margin+diversity', 'mc_margin'];

/**
 * The bench's name of the product default (DEFAULT_ACQUISITION in libs/ml), so every result says which of its
 * curves the product runs. Throws when no bench strategy matches: the comparison would miss the default.
 */
export function defaultStrategyName(): string {
  const defaults: AcquisitionSpec = { ...DEFAULT_ACQUISITION };
  // Every field but the seed, which only varies the draw.
  const fields = (Object.keys(defaults) as (keyof AcquisitionSpec)[]).filter((f) => f !== 'seed');
  const match = Object.entries(STRATEGIES).find(([, spec]) =>
    fields.every((field) => ({ ...defaults, ...spec })[field] === defaults[field]),
  );
  if (!match) throw new Error(`no bench:al strategy matches the product default ${JSON.stringify(defaults)}`);
  return match[0];
}
