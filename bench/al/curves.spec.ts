import { compareWithLibrary, labelRatio, meanCurve, minGapVsRandom, perRoundDropMax } from './curves';

const curve = (labels: number[], accuracy_mean: number[]) => ({
  labels,
  accuracy_mean,
  accuracy_std: labels.map(() => 0),
});

describe('bench:al curves', () => {
  it('averages runs per round, with the population standard deviation', () => {
    const c = meanCurve([
      { labels: [20, 120], accuracy: [0.5, 0.8] },
      { labels: [20, 120], accuracy: [0.7, 0.8] },
    ]);
    expect(c).toEqual({ labels: [20, 120], accuracy_mean: [0.6, 0.8], accuracy_std: [0.1, 0] });
  });

  it('measures the labels needed to reach a target between rounds, as a share of the budget', () => {
    const c = curve([100, 200, 300], [0.8, 0.9, 0.95]);
    expect(labelRatio(c, 0.85, 300)).toBe(0.5);
    expect(labelRatio(c, 0.7, 300)).toBe(0.3333);
    expect(labelRatio(c, 0.96, 300)).toBeNull();
  });

  it('takes the worst gap to random only past 200 labels, at label counts both curves have', () => {
    const random = curve([100, 200, 300, 400], [0.5, 0.8, 0.85, 0.9]);
    expect(minGapVsRandom(curve([100, 200, 300, 400], [0.2, 0.7, 0.86, 0.88]), random)).toBe(-0.02);
    expect(minGapVsRandom(curve([100, 200], [0.2, 0.7]), random)).toBeNull();
  });

  it('averages over runs the largest drop from one round to the next, 0 for a curve that never drops', () => {
    expect(perRoundDropMax([{ accuracy: [0.5, 0.6, 0.7] }])).toBe(0);
    expect(perRoundDropMax([{ accuracy: [0.7, 0.65, 0.8, 0.71] }, { accuracy: [0.5, 0.48, 0.6] }])).toBe(
      0.055,
    );
  });
});

describe('compareWithLibrary', () => {
  it('compares at the label counts both curves have, against 2 library standard deviations', () => {
    const library = {
      labels: [20, 120, 220],
      accuracy_mean: [0.5, 0.7, 0.8],
      accuracy_std: [0.05, 0.01, 0.01],
    };
    const product = { labels: [20, 120, 200], accuracy_mean: [0.55, 0.75, 0.9], accuracy_std: [0, 0, 0] };
    expect(compareWithLibrary(product, library)).toEqual({
      rounds_compared: 2,
      rounds_within_2_std: 1,
      mean_diff: 0.05,
      max_abs_diff: 0.05,
      library_std_mean: 0.03,
    });
  });
});
