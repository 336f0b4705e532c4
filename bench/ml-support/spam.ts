import { type FeatureMatrix, fitFeaturizer, textConfig } from '@labelloop/ml';
import { loadSpamAssassin, stratifiedSplit } from './data';

export interface SpamData {
  features: FeatureMatrix;
  labels: Int32Array;
  test: number[];
  pool: number[];
}

/**
 * SpamAssassin bodies as hashed word 1-2-gram + char 3-5-gram TF-IDF rows (no labels are used to fit them).
 * Test = 1,500 e-mails stratified with seed 0, pool = the rest. `fitOn`: fit the IDF on all given e-mails, or
 * on the pool only (the active-learning protocol, so the test texts stay unseen).
 */
export function spamData(rows?: number[], fitOn: 'all' | 'pool' = 'all'): SpamData {
  const all = loadSpamAssassin();
  const emails = rows ? rows.map((i) => all[i]) : all;
  const labels = Int32Array.from(emails, (e) => (e.spam ? 1 : 0));
  const texts = emails.map((e) => e.text);
  const { train, test } = stratifiedSplit(labels, 1500, 0);
  const fitTexts = fitOn === 'all' ? texts : train.map((i) => texts[i]);
  const features = fitFeaturizer(textConfig(), fitTexts).transform(texts);
  return { features, labels, test, pool: train };
}
