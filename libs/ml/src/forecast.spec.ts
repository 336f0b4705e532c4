import { type CurvePoint, fitPowerLaw, forecastAccuracy, predictAccuracy } from './forecast';

const law = { a: 0.95, b: 2, c: 0.6 };
const labels = [50, 100, 150, 200, 300, 400, 500];
const exact: CurvePoint[] = labels.map((n) => ({ labels: n, accuracy: predictAccuracy(law, n) }));

describe('fitPowerLaw', () => {
  it('recovers the curve that made the points', () => {
    const fitted = fitPowerLaw(exact);
    expect(fitted.a).toBeCloseTo(law.a, 2);
    expect(fitted.c).toBeCloseTo(law.c, 1);
    expect(predictAccuracy(fitted, 2000)).toBeCloseTo(predictAccuracy(law, 2000), 3);
  });

  it('keeps the bounds: a <= 1 and b >= 0, however the points run', () => {
    // Steep and still climbing: an unbounded fit would saturate above 1.
    const steep = labels.map((n) => ({ labels: n, accuracy: Math.min(0.999, 0.5 + n / 1000) }));
    expect(fitPowerLaw(steep).a).toBeLessThanOrEqual(1);
    // Falling: the best saturating curve is flat (b = 0) at the weighted mean.
    const falling = labels.map((n) => ({ labels: n, accuracy: 0.9 - n / 10_000 }));
    const flat = fitPowerLaw(falling);
    expect(flat.b).toBe(0);
    expect(flat.a).toBeLessThan(0.9);
  });
});

describe('forecastAccuracy', () => {
  it('refuses below 4 distinct label counts, and says why', () => {
    const three = [...exact.slice(0, 3), { labels: 150, accuracy: 0.8 }];
    expect(forecastAccuracy(three, { atLabels: 1000 })).toEqual({
      ok: false,
      reason: 'a forecast needs models trained on at least 4 different numbers of labels; there are 3',
    });
    expect(forecastAccuracy([], { atLabels: 1000 })).toMatchObject({ ok: false, reason: /there are 0/ });
  });

  it('forecasts noisy points within an interval that holds the forecast, the same for the same seed', () => {
    const noisy = exact.map((p, i) => ({ ...p, accuracy: p.accuracy + (i % 2 === 0 ? 0.01 : -0.01) }));
    const forecast = forecastAccuracy(noisy, { atLabels: 1500, seed: 3 });
    if (!forecast.ok) throw new Error(forecast.reason);
    expect(forecast.accuracy).toBeCloseTo(predictAccuracy(law, 1500), 1);
    expect(forecast.low).toBeLessThan(forecast.accuracy);
    expect(forecast.high).toBeGreaterThan(forecast.accuracy);
    expect(forecast.high - forecast.low).toBeLessThan(0.2);
    expect(forecastAccuracy(noisy, { atLabels: 1500, seed: 3 })).toEqual(forecast);
    // A wider level gives a wider interval.
    const wide = forecastAccuracy(noisy, { atLabels: 1500, seed: 3, level: 0.95 });
    if (!wide.ok) throw new Error(wide.reason);
    expect(wide.high - wide.low).toBeGreaterThanOrEqual(forecast.high - forecast.low);
  });

  it('gives a point interval on points that lie on the curve, and stays within [0, 1]', () => {
    const forecast = forecastAccuracy(exact, { atLabels: 5000 });
    if (!forecast.ok) throw new Error(forecast.reason);
    expect(forecast.high - forecast.low).toBeLessThan(0.01);
    const perfect = labels.map((n) => ({ labels: n, accuracy: 1 }));
    expect(forecastAccuracy(perfect, { atLabels: 5000 })).toMatchObject({
      ok: true,
      accuracy: 1,
      low: 1,
      high: 1,
    });
  });
});
