import { cutAfterMs } from './stalled-uploads';

describe('cutAfterMs', () => {
  it('aims a tenth early, at most one second, so a late timer still closes within the setting', () => {
    expect(cutAfterMs(30_000)).toBe(29_000);
    expect(cutAfterMs(5_000)).toBe(4_500);
    expect(cutAfterMs(1_000)).toBe(900);
  });
});
