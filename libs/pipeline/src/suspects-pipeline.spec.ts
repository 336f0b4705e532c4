import { DEFAULT_FOLDS, foldCount } from './suspects-pipeline';

describe('foldCount', () => {
  it('uses the default folds when there are enough rows, fewer (never under 2) when there are few', () => {
    expect(foldCount(1000)).toBe(DEFAULT_FOLDS);
    expect(foldCount(50)).toBe(5);
    expect(foldCount(30)).toBe(3);
    expect(foldCount(12)).toBe(2);
    expect(foldCount(3)).toBe(2);
  });
});
