import { MAX_DIP_BELOW_RANDOM } from './curves';

/** What the choice of a default reads from one dataset's result (bench/results/al-<dataset>.json). */
export interface DatasetResult {
  dataset: string;
  label_ratio_vs_random: Record<string, number | null>;
  min_gap_vs_random_after_200_labels: Record<string, number | null>;
}

export interface StrategyEvidence {
  /** Mean of the label ratios; null when the strategy is missing on a dataset or never reached random there. */
  mean_label_ratio: number | null;
  /** The worst gap to random past 200 labels over the datasets that have such rounds. */
  worst_gap_vs_random: number | null;
  /** Never more than MAX_DIP_BELOW_RANDOM below random past 200 labels on any dataset. */
  keeps_up_with_random: boolean;
}

/**
 * The evidence rule for the product's default acquisition: of the strategies measured on every dataset, the
 * one with the best (lowest) mean label ratio among those that never fall more than 1 point below random at any
 * round past 200 labels on any of them. `choice` is null when no strategy qualifies.
 */
export function chooseDefault(results: readonly DatasetResult[]): {
  strategies: Record<string, StrategyEvidence>;
  choice: string | null;
} {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.label_ratio_vs_random)))].sort();
  const strategies: Record<string, StrategyEvidence> = {};
  for (const name of names) {
    const ratios = results.map((r) => r.label_ratio_vs_random[name] ?? null);
    const gaps = results.map((r) => r.min_gap_vs_random_after_200_labels[name] ?? null);
    const measured = gaps.filter((g): g is number => g !== null);
    strategies[name] = {
      mean_label_ratio: ratios.includes(null)
        ? null
        : +((ratios as number[]).reduce((a, r) => a + r, 0) / ratios.length).toFixed(4),
      worst_gap_vs_random: measured.length ? Math.min(...measured) : null,
      keeps_up_with_random: measured.every((g) => g >= -MAX_DIP_BELOW_RANDOM),
    };
  }
  const qualified = names.filter(
    (n) => n !== 'random' && strategies[n].mean_label_ratio !== null && strategies[n].keeps_up_with_random,
  );
  qualified.sort((a, b) => strategies[a].mean_label_ratio! - strategies[b].mean_label_ratio!);
  return { strategies, choice: qualified[0] ?? null };
}
