import { labelStudioScores } from './prediction-score';

const rows = [
  [0.5, 0.5, 0], // two-way tie: most uncertain for margin
  [0.98, 0.01, 0.01], // confident
  [0.4, 0.3, 0.3], // spread out: most uncertain for entropy and least confidence
];
const keys = ['1', '2', '3'];

/** Task indices, lowest score first: the order Label Studio's uncertainty sampling serves them. */
const lsOrder = (scores: number[]) =>
  scores
    .map((s, i) => [s, i])
    .sort((a, b) => a[0] - b[0])
    .map(([, i]) => i);

describe('labelStudioScores', () => {
  it('margin: the score is the gap between the two best classes, lowest = tie', () => {
    const scores = labelStudioScores({ strategy: 'margin' }, rows, keys);
    expect(scores[0]).toBeCloseTo(0, 6);
    expect(scores[1]).toBeCloseTo(0.97, 6);
    expect(scores[2]).toBeCloseTo(0.1, 6);
    expect(lsOrder(scores)).toEqual([0, 2, 1]);
  });

  it('entropy and least confidence serve the spread-out row first; all scores lie in [0, 1]', () => {
    for (const strategy of ['entropy', 'least_confidence', 'bald']) {
      const scores = labelStudioScores({ strategy }, rows, keys);
      expect(lsOrder(scores)[0]).toBe(2);
      expect(lsOrder(scores)[2]).toBe(1);
      for (const s of scores) expect(s >= 0 && s <= 1).toBe(true);
    }
    expect(labelStudioScores({ strategy: 'entropy' }, [[1 / 3, 1 / 3, 1 / 3]], ['x'])[0]).toBeCloseTo(0, 5);
    expect(labelStudioScores({ strategy: 'least_confidence' }, [[1, 0, 0]], ['x'])[0]).toBeCloseTo(1, 6);
  });

  it('random: a seeded order that does not depend on the probabilities', () => {
    const a = labelStudioScores({ strategy: 'random', seed: 3 }, rows, keys);
    const b = labelStudioScores(
      { strategy: 'random', seed: 3 },
      [
        [1, 0, 0],
        [1, 0, 0],
        [1, 0, 0],
      ],
      keys,
    );
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(3);
  });

  it('defaults to the product default (margin) when the project stores no spec', () => {
    expect(labelStudioScores(undefined, rows, keys)).toEqual(
      labelStudioScores({ strategy: 'margin' }, rows, keys),
    );
  });
});
