import { flipLabels, NOISE_RATE, scoreRanking } from './noisy-labels';

describe('noisy labels', () => {
  it('flips NOISE_RATE of the labels, each to another class, the same way for the same seed', () => {
    const truth = Int32Array.from({ length: 1000 }, (_, i) => i % 10);
    const { noisy, flips } = flipLabels(truth, 10, 7);
    expect(flips.size).toBe(1000 * NOISE_RATE);
    for (let i = 0; i < truth.length; i++) expect(noisy[i] !== truth[i]).toBe(flips.has(i));
    expect(Array.from(flipLabels(truth, 10, 7).noisy)).toEqual(Array.from(noisy));
    expect(flipLabels(truth, 10, 8).flips).not.toEqual(flips);
  });

  it('scores a ranking at k and 2k, and by AUROC', () => {
    // 2 flips among 6 rows: one first, one fourth.
    const isFlip = [true, false, false, true, false, false];
    expect(scoreRanking(isFlip, 2)).toEqual({
      precision_at_k: 0.5,
      recall_at_2k: 1,
      // Flip 1 is above all 4 others, flip 2 above 2 of them: 6 of 8 pairs.
      auroc: 0.75,
    });
    expect(scoreRanking([true, true, false, false], 2).auroc).toBe(1);
  });
});
