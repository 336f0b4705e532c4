import { hashString } from '../random';
import { randomScore } from './random-order';

/** Keys as a sorted import names them. */
const ids = Array.from({ length: 2000 }, (_, i) => `item-${String(i).padStart(4, '0')}`);

describe('randomScore', () => {
  it('is a value in [0, 1) fixed by the seed and the key', () => {
    const scores = ids.map((id) => randomScore(3, id));
    expect(scores.every((s) => s >= 0 && s < 1)).toBe(true);
    expect(ids.map((id) => randomScore(3, id))).toEqual(scores);
    expect(ids.map((id) => randomScore(4, id))).not.toEqual(scores);
  });

  it('ranks keys imported in order into a uniform sample: the top 200 of 2,000 spread over the whole range', () => {
    for (const seed of [0, 1, 2]) {
      const top = [...ids.keys()]
        .sort((a, b) => randomScore(seed, ids[b]) - randomScore(seed, ids[a]))
        .slice(0, 200);
      // A uniform sample of 200 of 0..1999 has a mean index of 999.5 +- 41 (one standard deviation).
      const mean = top.reduce((sum, i) => sum + i, 0) / top.length;
      expect(Math.abs(mean - 999.5)).toBeLessThan(125);
      // ... and draws from every block of 100 (each holds 10 of them on average).
      expect(new Set(top.map((i) => Math.floor(i / 100))).size).toBe(20);
    }
  });
});

describe('hashString', () => {
  it('splits keys that differ only in their last characters like a fair coin', () => {
    // A 20 % cut of 300 sequential ids: binomial(300, 0.2) is 60 +- 7.
    for (const seed of [5, 11, 23]) {
      const below = ids
        .slice(0, 300)
        .filter((id) => hashString(`${seed}:split:${id}`) / 2 ** 32 < 0.2).length;
      expect(below).toBeGreaterThan(39);
      expect(below).toBeLessThan(81);
    }
  });
});
