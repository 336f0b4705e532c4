import { Injectable } from '@nestjs/common';
import { type AgreementCell, LearningCurveRepository, StopSetRepository } from '@labelloop/db';
import {
  type Agreement,
  forecastAccuracy,
  predictionAgreement,
  STOP_KAPPA,
  STOP_WINDOW,
  stopIndex,
} from '@labelloop/ml';
import { type Principal } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';

/** Coverage of the forecast's interval. */
export const FORECAST_LEVEL = 0.8;

/**
 * The fit uses the newest points only: they decide the forecast anyway (they weigh labels^2), and the fit's
 * cost (milliseconds, on the event loop) stays bounded however many models a project trains.
 */
export const FORECAST_MAX_POINTS = 100;

/** Per model: its agreement with the model scored before it, in model order. */
function agreementsByModel(cells: AgreementCell[]): { id: string; number: number; agreement: Agreement }[] {
  const byModel = new Map<string, AgreementCell[]>();
  for (const cell of cells) {
    const group = byModel.get(cell.modelVersionId);
    if (group) group.push(cell);
    else byModel.set(cell.modelVersionId, [cell]);
  }
  return [...byModel.values()]
    .map((group) => ({
      id: group[0].modelVersionId,
      number: group[0].number,
      agreement: predictionAgreement(group),
    }))
    .filter(
      (entry): entry is { id: string; number: number; agreement: Agreement } => entry.agreement !== null,
    )
    .sort((x, y) => x.number - y.number);
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

/**
 * A project's learning curve: holdout accuracy by labels over its model versions, a forecast of the accuracy
 * `plus` labels past the last point, and the stabilizing-predictions stopping signal.
 */
@Injectable()
export class LearningCurveService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly curve: LearningCurveRepository,
    private readonly stopSet: StopSetRepository,
  ) {}

  async get(principal: Principal, projectId: string, plus: number) {
    const project = await this.projects.get(principal, projectId);
    const [models, cells, stopSetSize] = await Promise.all([
      this.curve.points(project.id),
      this.stopSet.agreementCells(project.id),
      this.stopSet.size(project.id),
    ]);
    const agreements = agreementsByModel(cells);
    const agreementOf = new Map(agreements.map((entry) => [entry.id, entry.agreement]));
    const points = models.map((model) => {
      const agreement = agreementOf.get(model.modelVersionId);
      return {
        modelVersionId: model.modelVersionId,
        modelVersion: model.number,
        labels: model.labels,
        accuracy: model.accuracy,
        holdoutRows: model.holdoutRows,
        promoted: model.promoted,
        agreement: agreement ? round4(agreement.agreement) : null,
        kappa: agreement ? round4(agreement.kappa) : null,
      };
    });

    const fitted = points.slice(-FORECAST_MAX_POINTS);
    const atLabels = Math.max(0, ...points.map((p) => p.labels)) + plus;
    const forecast = forecastAccuracy(
      fitted.map((p) => ({ labels: p.labels, accuracy: p.accuracy })),
      { atLabels, level: FORECAST_LEVEL, seed: project.seed },
    );

    const fired = stopIndex(agreements.map((entry) => entry.agreement.kappa));
    const firedModel = fired === null ? null : agreements[fired];
    const stop = {
      measure: 'kappa',
      threshold: STOP_KAPPA,
      window: STOP_WINDOW,
      stopSetSize,
      fired: firedModel !== null,
      firedAt: firedModel && {
        modelVersionId: firedModel.id,
        modelVersion: firedModel.number,
        labels: models.find((m) => m.modelVersionId === firedModel.id)?.labels ?? null,
      },
    };

    if (!forecast.ok) return { points, forecast: null, reason: forecast.reason, stop };
    return {
      points,
      forecast: {
        atLabels,
        accuracy: round4(forecast.accuracy),
        low: round4(forecast.low),
        high: round4(forecast.high),
        level: FORECAST_LEVEL,
        fittedPoints: fitted.length,
        curve: forecast.curve,
      },
      stop,
    };
  }
}
