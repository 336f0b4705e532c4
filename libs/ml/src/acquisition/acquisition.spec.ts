import { denseMatrix } from '../matrix';
import { acquisitionSpec } from '../spec';
import { kCenterGreedy, kMeansPlusPlus } from './diversity';
import { balancedOrder, coldStart, selectBatch, topIndices } from './select';
import { bald, entropy, leastConfidence, margin, mcMargin, mcMean } from './uncertainty';

const probs = (rows: number[][]) => Float32Array.from(rows.flat());

describe('uncertainty strategies', () => {
  it('gives the uniform distribution the maximal entropy, ln(C)', () => {
    const h = entropy(
      probs([
        [0.25, 0.25, 0.25, 0.25],
        [0.7, 0.1, 0.1, 0.1],
        [1, 0, 0, 0],
      ]),
      4,
    );
    expect(h[0]).toBeCloseTo(Math.log(4), 5);
    expect(h[0]).toBeGreaterThan(h[1]);
    expect(h[1]).toBeGreaterThan(h[2]);
    expect(h[2]).toBe(0);
  });

  it('orders margin by the gap between the two best classes', () => {
    const m = margin(
      probs([
        [0.5, 0.45, 0.05],
        [0.6, 0.2, 0.2],
        [0.9, 0.05, 0.05],
        [0.34, 0.33, 0.33],
      ]),
      3,
    );
    expect(topIndices(m, 4)).toEqual([3, 0, 1, 2]);
    expect(m[0]).toBeCloseTo(0.95, 5);
  });

  it('least confidence is 1 - max p', () => {
    expect(
      Array.from(
        leastConfidence(
          probs([
            [0.8, 0.2],
            [0.5, 0.5],
          ]),
          2,
        ),
      ),
    ).toEqual([expect.closeTo(0.2, 5), expect.closeTo(0.5, 5)]);
  });

  it('gives BALD 0 when all MC samples agree, and > 0 when they disagree with a confident mean each', () => {
    const same = probs([
      [0.5, 0.5],
      [0.9, 0.1],
    ]);
    expect(Array.from(bald([same, same, same], 2))).toEqual([0, 0]);
    const a = probs([[1, 0]]);
    const b = probs([[0, 1]]);
    expect(bald([a, b], 2)[0]).toBeCloseTo(Math.log(2), 5);
  });
});

describe('MC-dropout margin', () => {
  it('averages the passes and takes the margin of the mean', () => {
    const a = probs([
      [0.9, 0.1],
      [0.6, 0.4],
    ]);
    const b = probs([
      [0.1, 0.9],
      [0.8, 0.2],
    ]);
    expect(Array.from(mcMean([a, b]))).toEqual([
      expect.closeTo(0.5, 6),
      expect.closeTo(0.5, 6),
      expect.closeTo(0.7, 6),
      expect.closeTo(0.3, 6),
    ]);
    // Each pass alone is confident on row 0, but they disagree: its mean sits on the boundary.
    const m = mcMargin([a, b], 2);
    expect(m[0]).toBeCloseTo(1, 5);
    expect(m[1]).toBeCloseTo(0.6, 5);
    expect(margin(a, 2)[0]).toBeCloseTo(0.2, 5);
  });
});

describe('class-balanced selection', () => {
  // Rows 0-3 are predicted class 0 and the most uncertain; rows 4-5 are predicted class 1.
  const p = probs([
    [0.55, 0.45],
    [0.56, 0.44],
    [0.57, 0.43],
    [0.58, 0.42],
    [0.3, 0.7],
    [0.1, 0.9],
  ]);
  const scores = margin(p, 2);

  it('deals the rows round-robin over the predicted classes, most uncertain first', () => {
    expect(balancedOrder(scores, p, 2)).toEqual([0, 4, 1, 5, 2, 3]);
  });

  it('selectBatch takes the most uncertain rows of each predicted class', () => {
    expect(selectBatch({ scores, batchSize: 2, spec: acquisitionSpec({ diversity: false }) })).toEqual([
      0, 1,
    ]);
    const balanced = acquisitionSpec({ diversity: false, classBalanced: true });
    expect(selectBatch({ scores, probabilities: p, batchSize: 2, spec: balanced })).toEqual([0, 4]);
    // A class that runs out leaves its turns to the others.
    expect(selectBatch({ scores, probabilities: p, batchSize: 5, spec: balanced })).toEqual([0, 4, 1, 5, 2]);
    expect(() => selectBatch({ scores, batchSize: 2, spec: balanced })).toThrow(/probabilities/);
  });
});

describe('batch diversity', () => {
  // Two tight clusters near the origin and one far point.
  const points = denseMatrix(5, 2, Float32Array.from([0, 0, 0.1, 0, 0, 0.1, 10, 10, 5, 5]));

  it('k-center greedy picks the point farthest from those chosen', () => {
    expect(kCenterGreedy(points, 3, { first: 0 })).toEqual([0, 3, 4]);
    // Starting from already-labeled centers, the first pick is the farthest from them.
    expect(kCenterGreedy(points, 1, { centers: [3] })[0]).toBe(0);
  });

  it('k-means++ never picks the same row twice and is seeded', () => {
    const picks = kMeansPlusPlus(points, 5, 3);
    expect(new Set(picks).size).toBe(5);
    expect(kMeansPlusPlus(points, 3, 3)).toEqual(kMeansPlusPlus(points, 3, 3));
  });

  it('selectBatch with diversity avoids near-copies among the top candidates', () => {
    // Rows 0-3 are near-copies with the highest scores; row 4 is different and slightly less uncertain.
    const emb = denseMatrix(6, 2, Float32Array.from([0, 0, 0, 0.01, 0.01, 0, 0.01, 0.01, 5, 5, -5, 5]));
    const scores = Float32Array.from([0.99, 0.98, 0.97, 0.96, 0.9, 0.1]);
    const plain = selectBatch({ scores, batchSize: 2, spec: acquisitionSpec({ diversity: false }) });
    expect(plain).toEqual([0, 1]);
    const diverse = selectBatch({
      scores,
      embeddings: emb,
      batchSize: 2,
      spec: acquisitionSpec({ diversity: true, candidateMultiplier: 2.5 }),
    });
    expect(diverse).toEqual([0, 4]);
  });

  it('random selection is seeded and distinct', () => {
    const scores = new Float32Array(100);
    const a = selectBatch({ scores, batchSize: 10, spec: acquisitionSpec({ strategy: 'random', seed: 1 }) });
    expect(a).toEqual(
      selectBatch({ scores, batchSize: 10, spec: acquisitionSpec({ strategy: 'random', seed: 1 }) }),
    );
    expect(new Set(a).size).toBe(10);
    expect(a).not.toEqual(
      selectBatch({ scores, batchSize: 10, spec: acquisitionSpec({ strategy: 'random', seed: 2 }) }),
    );
  });

  it('cold start covers separated clusters', () => {
    const rows: number[] = [];
    for (let c = 0; c < 4; c++)
      for (let i = 0; i < 50; i++) rows.push(c * 100 + (i % 7) * 0.1, (i % 5) * 0.1);
    const picks = coldStart(denseMatrix(200, 2, Float32Array.from(rows)), 4, 0);
    expect(new Set(picks.map((i) => Math.floor(i / 50))).size).toBe(4);
  });
});
