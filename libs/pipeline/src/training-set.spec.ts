import type { LabeledItem } from '@labelloop/db';
import { modelInput } from './model-input';
import { buildTrainingSet, featurizerConfig, TrainingRefused } from './training-set';

const item = (id: string, split: 'pool' | 'holdout', label: string): LabeledItem => ({
  id,
  split,
  payload: { text: id },
  objectKey: null,
  label,
});
const text = (i: LabeledItem) => modelInput('text', i.payload);

describe('buildTrainingSet', () => {
  it('trains on pool items and evaluates on holdout items, labels as class indices', () => {
    const set = buildTrainingSet(
      ['spam', 'ham'],
      [item('a', 'pool', 'ham'), item('b', 'holdout', 'spam'), item('c', 'pool', 'spam')],
      text,
    );
    expect(set.train).toEqual({ inputs: ['a', 'c'], labels: [1, 0] });
    expect(set.holdout).toEqual({ inputs: ['b'], labels: [0] });
  });

  it('refuses a pool with one label', () => {
    const items = [item('a', 'pool', 'ham'), item('b', 'holdout', 'spam')];
    expect(() => buildTrainingSet(['spam', 'ham'], items, text)).toThrow(TrainingRefused);
    expect(() => buildTrainingSet(['spam', 'ham'], items, text)).toThrow(/at least 2 distinct labels/);
  });

  it('refuses when no pool item is labeled', () => {
    expect(() => buildTrainingSet(['spam', 'ham'], [item('b', 'holdout', 'spam')], text)).toThrow(
      /no labeled training items/,
    );
  });
});

describe('featurizerConfig', () => {
  it('sizes images after the first one, scaled down to 64 on the longer side, RGBA as RGB', () => {
    const image = { data: new Uint8Array(128 * 32 * 4), width: 128, height: 32, channels: 4 as const };
    expect(featurizerConfig('image', image)).toMatchObject({
      kind: 'image',
      width: 64,
      height: 16,
      channels: 3,
    });
    expect(featurizerConfig('text', 'x')).toMatchObject({ kind: 'text' });
  });
});
