import { predictionAgreement, stopIndex } from './stopping';

describe('predictionAgreement', () => {
  it('is the share of items with the same class, and kappa corrects it for chance', () => {
    // 90 of 100 agree; each model calls half the items a.
    const result = predictionAgreement([
      { previous: 'a', current: 'a', count: 45 },
      { previous: 'b', current: 'b', count: 45 },
      { previous: 'a', current: 'b', count: 5 },
      { previous: 'b', current: 'a', count: 5 },
    ]);
    expect(result).toEqual({ agreement: 0.9, kappa: expect.closeTo(0.8, 10), items: 100 });
  });

  it('sees through a majority class: high agreement, low kappa', () => {
    const result = predictionAgreement([
      { previous: 'a', current: 'a', count: 95 },
      { previous: 'a', current: 'b', count: 3 },
      { previous: 'b', current: 'a', count: 2 },
    ])!;
    expect(result.agreement).toBe(0.95);
    expect(result.kappa).toBeLessThan(0);
  });

  it('handles models that put everything in one class, and no items', () => {
    expect(predictionAgreement([{ previous: 'a', current: 'a', count: 10 }])).toMatchObject({ kappa: 1 });
    expect(predictionAgreement([{ previous: 'a', current: 'b', count: 10 }])).toMatchObject({
      agreement: 0,
      kappa: 0,
    });
    expect(predictionAgreement([])).toBeNull();
  });
});

describe('stopIndex', () => {
  it('fires at the third successive kappa at or above the threshold', () => {
    expect(stopIndex([0.9, 0.995, 0.99, 0.97, 0.991, 0.999, 1, 1])).toBe(6);
    expect(stopIndex([0.999, 0.999])).toBeNull();
    expect(stopIndex([0.999, null, 0.999, 0.999])).toBeNull();
    expect(stopIndex([0.95, 0.96, 0.97], 0.95, 2)).toBe(1);
  });
});
