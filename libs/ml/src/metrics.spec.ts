import { evaluate } from './metrics';

describe('evaluate', () => {
  it('computes accuracy, macro-F1, recall, confusion and ECE', () => {
    const probs = Float32Array.from([0.95, 0.05, 0.85, 0.15, 0.35, 0.65, 0.25, 0.75]);
    const m = evaluate(probs, [0, 1, 1, 1], 2, 10);
    expect(m.accuracy).toBe(0.75);
    expect(m.confusion).toEqual([
      [1, 0],
      [1, 2],
    ]);
    expect(m.perClassRecall).toEqual([1, 2 / 3]);
    // F1 class 0: 2*1/(1+2) ; class 1: 2*2/(3+2)
    expect(m.macroF1).toBeCloseTo((2 / 3 + 4 / 5) / 2, 6);
    // One row per bin: 0.95 (correct), 0.85 (wrong), 0.65 (correct), 0.75 (correct)
    expect(m.ece).toBeCloseTo((0.05 + 0.85 + 0.35 + 0.25) / 4, 5);
  });
});
