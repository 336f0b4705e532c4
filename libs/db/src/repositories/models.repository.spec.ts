import { shouldPromote } from './models.repository';

describe('shouldPromote', () => {
  it('promotes the first model, with or without holdout accuracy', () => {
    expect(shouldPromote(0.4, undefined)).toBe(true);
    expect(shouldPromote(null, undefined)).toBe(true);
  });
  it('promotes an equally or more accurate model', () => {
    expect(shouldPromote(0.8, 0.8)).toBe(true);
    expect(shouldPromote(0.9, 0.8)).toBe(true);
    expect(shouldPromote(0.1, null)).toBe(true);
  });
  it('keeps the promoted model when the new one is worse or has no accuracy', () => {
    expect(shouldPromote(0.7, 0.8)).toBe(false);
    expect(shouldPromote(null, 0.5)).toBe(false);
  });
});
