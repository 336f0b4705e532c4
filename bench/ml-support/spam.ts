import { type FeatureMatrix, fitFeaturizer, textConfig } from '@labelloop/ml';
import { loadSpamAssassin, stratifiedSplit } from './data';

export interface SpamData {
  features: FeatureMatrix;
  labels: Int32Array;
  test: number[];
  pool: number[];
}

/**
 * SpamAssassin bodies as hashed word 1-2-gram + char 3-5-gram TF-IDF rows, textConfig() (vocabulary and IDF
 * fitted without labels).
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

export interface SpamTextSplit {
  train: { texts: string[]; labels: number[] };
  holdout: { texts: string[]; labels: number[] };
}

/**
 * `size` training e-mails (bodies) drawn stratified from SpamAssassin with `seed`; every other e-mail is the
 * holdout (5,046 for 1,000: a holdout of 1,000 could not tell apart models 0.5 points apart). What bench:ml
 * fits the default text model on, with the benchmark seeds 0, 1, 2; tune on others.
 */
export function spamTextSplit(seed: number, size = 1000): SpamTextSplit {
  const all = loadSpamAssassin();
  const labels = Int32Array.from(all, (e) => (e.spam ? 1 : 0));
  const { test: train, train: holdout } = stratifiedSplit(labels, size, seed);
  const part = (rows: number[]) => ({
    texts: rows.map((i) => all[i].text),
    labels: rows.map((i) => labels[i]),
  });
  return { train: part(train), holdout: part(holdout) };
}
