import { BoundedCache, type Candidate, predictedClassRows, TopCandidates, topClass } from './ranking';

const candidate = (itemId: string, score: number): Candidate => ({
  itemId,
  score,
  label: 'a',
  probability: 0.5,
});

describe('TopCandidates', () => {
  it('keeps the best scores of a stream, best first, ties by item id', () => {
    const top = new TopCandidates(3);
    for (const [id, score] of [
      ['e', 0.1],
      ['d', 0.9],
      ['c', 0.5],
      ['b', 0.5],
      ['a', 0.2],
      ['f', 0.95],
      ['g', 0.05],
    ] as const) {
      top.add(candidate(id, score));
    }
    expect(top.best().map((c) => c.itemId)).toEqual(['f', 'd', 'b']);
  });

  it('returns fewer when fewer were seen', () => {
    const top = new TopCandidates(5);
    top.add(candidate('a', 1));
    expect(top.best()).toHaveLength(1);
  });
});

describe('topClass', () => {
  it('finds the most likely class of a row', () => {
    const probs = new Float32Array([0.2, 0.8, 0.6, 0.4]);
    expect(topClass(probs, 0, 2)).toEqual({ index: 1, probability: expect.closeTo(0.8) });
    expect(topClass(probs, 1, 2)).toEqual({ index: 0, probability: expect.closeTo(0.6) });
  });
});

describe('BoundedCache', () => {
  it('evicts the least recently used entry beyond its capacity', () => {
    const evicted: string[] = [];
    const cache = new BoundedCache<string, string>(2, (v) => evicted.push(v));
    cache.set('a', 'A');
    cache.set('b', 'B');
    expect(cache.get('a')).toBe('A');
    cache.set('c', 'C');
    expect(evicted).toEqual(['B']);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.clear();
    expect(evicted).toEqual(['B', 'A', 'C']);
  });
});

describe('predictedClassRows', () => {
  it("puts each candidate's top probability in its predicted class column", () => {
    const candidates: Candidate[] = [
      { itemId: 'a', score: 0.9, label: 'ham', probability: 0.55 },
      { itemId: 'b', score: 0.8, label: 'spam', probability: 0.6 },
    ];
    expect(Array.from(predictedClassRows(candidates, ['spam', 'ham']))).toEqual([
      0,
      expect.closeTo(0.55, 6),
      expect.closeTo(0.6, 6),
      0,
    ]);
  });
});
