/**
 * Learning-curve forecast: how accurate will the model be after more labels? Fits a saturating inverse power
 * law acc(n) = a - b * n^(-c) to a project's own (labels, accuracy) points and extrapolates it, with an
 * interval from a residual bootstrap. Framework-free; milliseconds for a few dozen points.
 *
 * The fit is variable projection: for a fixed exponent c the curve is linear in (a, b), so weighted least
 * squares solves them exactly (under the bounds), and c is searched on a grid. A general
 * Levenberg-Marquardt (ml-levenberg-marquardt 5.1) was tried first: with weights toward the later points its
 * fixed additive damping stalled it far from the optimum (weighted squared error 10 to 600 times the grid's on
 * the bench:al curves), while this search finds the best c to the grid's step.
 */
import { createRng, deriveSeed } from './random';

export interface CurvePoint {
  /** Labels the model was trained on (> 0). */
  labels: number;
  /** Its holdout accuracy, in [0, 1]. */
  accuracy: number;
}

/** acc(n) = a - b * n^(-c): `a` the accuracy it saturates at (<= 1), `b` >= 0, `c` in (0, 3] how fast. */
export interface PowerLaw {
  a: number;
  b: number;
  c: number;
}

export interface ForecastOptions {
  /** Where to forecast (a label count, usually past the last point). */
  atLabels: number;
  /** Fewer distinct label counts than this and there is no forecast (default 4: one more than the parameters). */
  minPoints?: number;
  /** Coverage of the interval (default 0.8: the 10th to the 90th percentile of the bootstrap). */
  level?: number;
  /** Bootstrap refits (default 200). */
  draws?: number;
  /** Seeds the bootstrap, so the same points give the same interval. */
  seed?: number;
  /** Each point weighs labels^weightPower in the fit (default WEIGHT_POWER). */
  weightPower?: number;
}

export type LearningCurveForecast =
  | { ok: true; atLabels: number; accuracy: number; low: number; high: number; curve: PowerLaw }
  | { ok: false; reason: string };

export const MIN_FORECAST_POINTS = 4;

/**
 * Points weigh labels^2: the later points, nearer the forecast and on the flatter part of the curve, decide
 * it; the steep start (a cold-start model on a few dozen labels) only anchors it. Chosen among 0, 0.5, 1 and
 * 2 on the tuning seeds of bench:al (al-spam-tuning.json), not on the benchmark seeds (bench:forecast).
 */
export const WEIGHT_POWER = 2;

/** The exponent is searched on a coarse grid over (0, MAX_EXPONENT], then finely around the best coarse step. */
const COARSE_STEP = 0.05;
const FINE_STEP = 0.005;
const MAX_EXPONENT = 3;

export function predictAccuracy(curve: PowerLaw, labels: number): number {
  return curve.a - curve.b * Math.pow(labels, -curve.c);
}

/** Weighted squared error of acc = a - b z over the points (z = scaled labels^-c). */
function squaredError(a: number, b: number, z: number[], y: number[], w: number[]): number {
  let sum = 0;
  for (let i = 0; i < z.length; i++) sum += w[i] * (y[i] - a + b * z[i]) ** 2;
  return sum;
}

/**
 * The (a, b) with least weighted squared error for acc = a - b z, under a <= 1 and b >= 0. The problem is a
 * convex quadratic, so the optimum is the unconstrained one when it is feasible, else the best of the
 * optima on the constraint edges (b = 0; a = 1) and their corner.
 */
function bestLinear(z: number[], y: number[], w: number[]): { a: number; b: number; error: number } {
  let sw = 0;
  let sz = 0;
  let sy = 0;
  for (let i = 0; i < z.length; i++) {
    sw += w[i];
    sz += w[i] * z[i];
    sy += w[i] * y[i];
  }
  const meanZ = sz / sw;
  const meanY = sy / sw;
  let szz = 0;
  let szy = 0;
  let sz2 = 0;
  let sz1y = 0;
  for (let i = 0; i < z.length; i++) {
    szz += w[i] * (z[i] - meanZ) ** 2;
    szy += w[i] * (z[i] - meanZ) * (y[i] - meanY);
    sz2 += w[i] * z[i] * z[i];
    sz1y += w[i] * z[i] * (1 - y[i]);
  }
  const candidates: [number, number][] = [
    [Math.min(1, meanY), 0],
    [1, Math.max(0, sz1y / sz2)],
  ];
  if (szz > 0) {
    const b = -szy / szz;
    const a = meanY + b * meanZ;
    if (b >= 0 && a <= 1) candidates.push([a, b]);
  }
  let best = { a: 0, b: 0, error: Infinity };
  for (const [a, b] of candidates) {
    const error = squaredError(a, b, z, y, w);
    if (error < best.error) best = { a, b, error };
  }
  return best;
}

/**
 * The least-squares inverse power law through the points, each weighing labels^weightPower. Labels are
 * scaled by the largest so the numbers stay well inside floating point for any project size.
 */
export function fitPowerLaw(points: CurvePoint[], weightPower = WEIGHT_POWER): PowerLaw {
  const scale = Math.max(...points.map((p) => p.labels));
  const x = points.map((p) => p.labels / scale);
  const y = points.map((p) => p.accuracy);
  const w = x.map((v) => Math.pow(v, weightPower));
  let best = { a: 0, b: 0, c: COARSE_STEP, error: Infinity };
  const tryExponent = (c: number) => {
    const fit = bestLinear(
      x.map((v) => Math.pow(v, -c)),
      y,
      w,
    );
    if (fit.error < best.error) best = { ...fit, c };
  };
  for (let c = COARSE_STEP; c <= MAX_EXPONENT + 1e-9; c += COARSE_STEP) tryExponent(c);
  const coarse = best.c;
  for (let c = coarse - COARSE_STEP + FINE_STEP; c < coarse + COARSE_STEP - 1e-9; c += FINE_STEP) {
    if (c > 0 && c <= MAX_EXPONENT + 1e-9) tryExponent(c);
  }
  return { a: best.a, b: best.b * Math.pow(scale, best.c), c: best.c };
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

/**
 * The forecast accuracy at `atLabels` and an interval: the fitted curve's value, and the `level` percentile
 * range of the same forecast refitted on bootstrap curves (the fitted values plus residuals drawn with
 * replacement, each scaled by its point's weight: a point that weighs more is assumed less noisy). Refuses,
 * with the reason, below `minPoints` distinct label counts.
 */
export function forecastAccuracy(points: CurvePoint[], options: ForecastOptions): LearningCurveForecast {
  const minPoints = options.minPoints ?? MIN_FORECAST_POINTS;
  const distinct = new Set(points.map((p) => p.labels)).size;
  if (distinct < minPoints) {
    return {
      ok: false,
      reason:
        `a forecast needs models trained on at least ${minPoints} different numbers of labels; ` +
        `there ${distinct === 1 ? 'is' : 'are'} ${distinct}`,
    };
  }
  const power = options.weightPower ?? WEIGHT_POWER;
  const curve = fitPowerLaw(points, power);
  const scale = Math.max(...points.map((p) => p.labels));
  // Residuals in units of one noise level: r * sqrt(w), back to a point's scale by / sqrt(w).
  const spread = points.map((p) => Math.pow(p.labels / scale, power / 2));
  const standardized = points.map((p, i) => (p.accuracy - predictAccuracy(curve, p.labels)) * spread[i]);
  const rng = createRng(deriveSeed(options.seed ?? 0, distinct));
  const forecasts: number[] = [];
  for (let draw = 0; draw < (options.draws ?? 200); draw++) {
    const resampled = points.map((p, i) => ({
      labels: p.labels,
      accuracy:
        predictAccuracy(curve, p.labels) + standardized[Math.floor(rng() * standardized.length)] / spread[i],
    }));
    forecasts.push(predictAccuracy(fitPowerLaw(resampled, power), options.atLabels));
  }
  forecasts.sort((p, q) => p - q);
  const tail = (1 - (options.level ?? 0.8)) / 2;
  const accuracy = clamp01(predictAccuracy(curve, options.atLabels));
  return {
    ok: true,
    atLabels: options.atLabels,
    accuracy,
    // The fitted value stays inside its interval even when the bootstrap's spread is lopsided.
    low: Math.min(accuracy, clamp01(quantile(forecasts, tail))),
    high: Math.max(accuracy, clamp01(quantile(forecasts, 1 - tail))),
    curve,
  };
}
