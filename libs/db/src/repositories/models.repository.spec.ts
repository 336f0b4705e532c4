import { shouldPromote } from './models.repository';

describe('shouldPromote', () => {
  const score = (accuracy: number | null, rows = 100) => ({ accuracy, rows });

  it('promotes the first model, with or without holdout accuracy', () => {
    expect(shouldPromote(score(0.4), undefined)).toBe(true);
    expect(shouldPromote(score(null, 0), undefined)).toBe(true);
  });

  it('promotes an equally or more accurate model', () => {
    expect(shouldPromote(score(0.8), score(0.8))).toBe(true);
    expect(shouldPromote(score(0.9), score(0.8))).toBe(true);
  });

  it('promotes the newest model when either side has no holdout measurement', () => {
    expect(shouldPromote(score(null, 0), score(0.9))).toBe(true);
    expect(shouldPromote(score(0.1), score(null, 0))).toBe(true);
  });

  it('promotes a slightly less accurate model when the holdout is too small to tell them apart', () => {
    // 15 of 20 against 17 of 20: well within the noise of 20 items.
    expect(shouldPromote(score(0.75, 20), score(0.85, 20))).toBe(true);
  });

  it('keeps the promoted model when a large enough holdout says the new one is worse', () => {
    expect(shouldPromote(score(0.75, 2000), score(0.85, 2000))).toBe(false);
    expect(shouldPromote(score(0.7, 500), score(0.8, 500))).toBe(false);
    // Both perfect before: any measured drop counts.
    expect(shouldPromote(score(0.99, 1000), score(1, 1000))).toBe(false);
  });
});
