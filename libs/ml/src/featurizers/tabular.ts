import { denseMatrix, type DenseMatrix } from '../matrix';
import type { Featurizer, FeaturizerState, TabularFeaturizerConfig, TabularInput } from './types';

export function tabularConfig(partial: Partial<TabularFeaturizerConfig> = {}): TabularFeaturizerConfig {
  return { kind: 'tabular', numeric: [], categorical: [], maxCategories: 50, ...partial };
}

/**
 * Numbers are standardized with the fitted mean/std and get a missing-indicator column (a missing number
 * becomes 0, the mean); categories are one-hot over the most frequent fitted values (unknown or missing: all 0).
 */
export class TabularFeaturizer implements Featurizer<TabularInput> {
  readonly dim: number;

  private constructor(
    readonly config: TabularFeaturizerConfig,
    private readonly means: number[],
    private readonly stds: number[],
    private readonly categories: Record<string, string[]>,
  ) {
    this.dim = config.numeric.length * 2 + config.categorical.reduce((a, c) => a + categories[c].length, 0);
  }

  static fit(config: TabularFeaturizerConfig, rows: readonly TabularInput[]): TabularFeaturizer {
    let { numeric, categorical } = config;
    if (numeric.length === 0 && categorical.length === 0) ({ numeric, categorical } = inferColumns(rows));
    const resolved = { ...config, numeric, categorical };
    const means: number[] = [];
    const stds: number[] = [];
    for (const col of numeric) {
      const values = rows.map((r) => asNumber(r[col])).filter((v): v is number => v !== null);
      const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
      const variance = values.length ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length : 0;
      means.push(mean);
      // A constant column would divide by zero; it carries no signal, so scale by 1.
      stds.push(variance > 1e-12 ? Math.sqrt(variance) : 1);
    }
    const categories: Record<string, string[]> = {};
    for (const col of categorical) {
      const freq = new Map<string, number>();
      for (const r of rows) {
        const v = r[col];
        if (v !== null && v !== undefined && v !== '') freq.set(String(v), (freq.get(String(v)) ?? 0) + 1);
      }
      categories[col] = [...freq.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, config.maxCategories)
        .map(([v]) => v)
        .sort();
    }
    return new TabularFeaturizer(resolved, means, stds, categories);
  }

  static fromJSON(state: {
    config: TabularFeaturizerConfig;
    means: number[];
    stds: number[];
    categories: Record<string, string[]>;
  }): TabularFeaturizer {
    return new TabularFeaturizer(state.config, state.means, state.stds, state.categories);
  }

  transform(rows: readonly TabularInput[]): DenseMatrix {
    const out = new Float32Array(rows.length * this.dim);
    const lookup = this.config.categorical.map((c) => new Map(this.categories[c].map((v, i) => [v, i])));
    rows.forEach((row, i) => {
      let o = i * this.dim;
      this.config.numeric.forEach((col, j) => {
        const v = asNumber(row[col]);
        out[o++] = v === null ? 0 : (v - this.means[j]) / this.stds[j];
        out[o++] = v === null ? 1 : 0;
      });
      this.config.categorical.forEach((col, j) => {
        const v = row[col];
        const k = v === null || v === undefined ? undefined : lookup[j].get(String(v));
        if (k !== undefined) out[o + k] = 1;
        o += this.categories[col].length;
      });
    });
    return denseMatrix(rows.length, this.dim, out);
  }

  toJSON(): FeaturizerState {
    return { config: this.config, means: this.means, stds: this.stds, categories: this.categories };
  }
}

function asNumber(v: TabularInput[string]): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** A column is numeric when every present value parses as a number. */
function inferColumns(rows: readonly TabularInput[]): { numeric: string[]; categorical: string[] } {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
  const numeric: string[] = [];
  const categorical: string[] = [];
  for (const name of names) {
    const present = rows.map((r) => r[name]).filter((v) => v !== null && v !== undefined && v !== '');
    (present.every((v) => asNumber(v) !== null) ? numeric : categorical).push(name);
  }
  return { numeric, categorical };
}
