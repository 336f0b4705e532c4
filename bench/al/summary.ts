import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DatasetResult, chooseDefault } from './evidence';
import { AL_DATASETS } from './protocols';
import { defaultStrategyName } from './strategies';

/**
 * `--summary`: the evidence for the product's default acquisition over every dataset with an official result
 * (bench/results/al-<dataset>.json), written to al-summary.json: per strategy its mean label ratio and worst dip
 * below random, the strategy the rule picks, and whether that is the product default.
 */
export function writeSummary(): void {
  const dir = join(__dirname, '..', 'results');
  const results: DatasetResult[] = AL_DATASETS.flatMap((dataset) => {
    const file = join(dir, `al-${dataset}.json`);
    if (!existsSync(file)) return [];
    const result = JSON.parse(readFileSync(file, 'utf8'));
    return [{ dataset, ...result }];
  });
  const { strategies, choice } = chooseDefault(results);
  const defaultStrategy = defaultStrategyName();
  const summary = {
    rule:
      'best mean label_ratio_vs_random over the datasets among strategies measured on all of them that are never ' +
      'more than 1 point below random at any round past 200 labels on any of them',
    datasets: results.map((r) => r.dataset),
    strategies,
    choice,
    default_strategy: defaultStrategy,
    default_is_choice: choice === defaultStrategy,
  };
  writeFileSync(join(dir, 'al-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  console.log(JSON.stringify(summary, null, 2));
}
