/**
 * bench:forecast: how well the learning-curve forecast (libs/ml forecastAccuracy, the one behind
 * GET /v1/projects/:id/learning-curve) predicts accuracy at twice the labels. Takes the active-learning
 * curves of bench:al (bench/results/al-mnist.json, al-spam.json: per strategy, the mean of 3 seeds), fits
 * each on its points up to half the budget and forecasts the curve's last point. Writes
 * bench/results/forecast.json: `mae` over every curve (target <= 0.02), per dataset and strategy, each
 * curve's forecast, interval and error, and how often the interval holds the truth.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CurvePoint, forecastAccuracy, WEIGHT_POWER } from '@labelloop/ml';
import { writeResult } from './support/results';

const DATASETS = ['mnist', 'spam'] as const;
/** The fit's weighting (labels^power) was chosen among these on the tuning seeds' curves, never the benchmark's. */
const WEIGHT_POWERS = [0, 0.5, 1, 2];
const TUNING_FILE = 'al-spam-tuning';
const TARGET_MAE = 0.02;
/** The interval the endpoint reports (ForecastOptions.level's default). */
const LEVEL = 0.8;

interface AlCurve {
  labels: number[];
  accuracy_mean: number[];
}

interface CurveResult {
  dataset: string;
  strategy: string;
  fittedPoints: number;
  fittedUpTo: number;
  atLabels: number;
  actual: number;
  forecast: number;
  low: number;
  high: number;
  error: number;
  inInterval: boolean;
  curve: { a: number; b: number; c: number };
}

const round4 = (value: number) => +value.toFixed(4);
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

function forecastCurve(
  dataset: string,
  strategy: string,
  alCurve: AlCurve,
  budget: number,
  weightPower = WEIGHT_POWER,
): CurveResult {
  const points: CurvePoint[] = alCurve.labels.map((labels, i) => ({
    labels,
    accuracy: alCurve.accuracy_mean[i],
  }));
  const fittedUpTo = budget / 2;
  const fitted = points.filter((p) => p.labels <= fittedUpTo);
  const last = points[points.length - 1];
  const forecast = forecastAccuracy(fitted, { atLabels: last.labels, level: LEVEL, weightPower });
  if (!forecast.ok) throw new Error(`${dataset} ${strategy}: ${forecast.reason}`);
  return {
    dataset,
    strategy,
    fittedPoints: fitted.length,
    fittedUpTo,
    atLabels: last.labels,
    actual: last.accuracy,
    forecast: round4(forecast.accuracy),
    low: round4(forecast.low),
    high: round4(forecast.high),
    error: round4(Math.abs(forecast.accuracy - last.accuracy)),
    inInterval: forecast.low <= last.accuracy && last.accuracy <= forecast.high,
    curve: { a: round4(forecast.curve.a), b: round4(forecast.curve.b), c: round4(forecast.curve.c) },
  };
}

function summary(results: CurveResult[]) {
  return {
    mae: round4(mean(results.map((r) => r.error))),
    max_error: round4(Math.max(...results.map((r) => r.error))),
    interval_coverage: round4(mean(results.map((r) => (r.inInterval ? 1 : 0)))),
    curves: results.length,
  };
}

function readAl(name: string): { budget: number; curves: Record<string, AlCurve> } {
  return JSON.parse(readFileSync(join(__dirname, 'results', `${name}.json`), 'utf8'));
}

/** MAE on the tuning seeds' curves for each candidate weighting: the record of how WEIGHT_POWER was chosen. */
function tuning() {
  const al = readAl(TUNING_FILE);
  const maeByPower = WEIGHT_POWERS.map((power) => {
    const results = Object.entries(al.curves).map(([strategy, curve]) =>
      forecastCurve('spam-tuning', strategy, curve, al.budget, power),
    );
    return [String(power), summary(results).mae];
  });
  return {
    file: `bench/results/${TUNING_FILE}.json`,
    chosen: WEIGHT_POWER,
    mae_by_weight_power: Object.fromEntries(maeByPower),
  };
}

function main() {
  const started = performance.now();
  const curves: CurveResult[] = [];
  for (const dataset of DATASETS) {
    const al = readAl(`al-${dataset}`);
    for (const [strategy, alCurve] of Object.entries(al.curves)) {
      curves.push(forecastCurve(dataset, strategy, alCurve, al.budget));
    }
  }
  const overall = summary(curves);
  writeResult('forecast', {
    mae: overall.mae,
    target_mae: TARGET_MAE,
    met: overall.mae <= TARGET_MAE,
    max_error: overall.max_error,
    interval_coverage: overall.interval_coverage,
    by_dataset: Object.fromEntries(
      DATASETS.map((dataset) => [dataset, summary(curves.filter((c) => c.dataset === dataset))]),
    ),
    curves,
    protocol: {
      source:
        'bench/results/al-mnist.json and al-spam.json (bench:al): each strategy curve, mean of seeds 0-2',
      fit: `inverse power law acc(n) = a - b n^-c, least squares weighted by labels^${WEIGHT_POWER}, a <= 1, b >= 0, 0 < c <= 3`,
      tuning: tuning(),
      fitted_points: 'labels <= half the budget: MNIST <= 1,000, SpamAssassin <= 500 (10 points each)',
      forecast_at: "the curve's last point: MNIST 2,000 labels, SpamAssassin 1,000",
      interval: `${LEVEL * 100}% residual bootstrap (200 refits), as the endpoint reports it`,
      note: 'the AL results hold seed means only, so each curve is smoother than one project run',
    },
    ms: Math.round(performance.now() - started),
  });
}

main();
