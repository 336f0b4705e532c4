import { Injectable } from '@nestjs/common';
import { ModelsRepository, type ModelVersionRecord } from '@labelloop/db';
import { JobQueues, SCORING_JOB, type ScoringJobData, scoringJobOptions } from '@labelloop/queue';
import { type Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { ModelServingService } from './model-serving.service';
import { modelView } from './model-view';
import { predictInputs } from './predict-input';

/** The model registry: list and get model versions, promote one (also to roll back). */
@Injectable()
export class ModelsService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly models: ModelsRepository,
    private readonly queues: JobQueues,
    private readonly serving: ModelServingService,
  ) {}

  /** Newest first; `cursor` is the number of the last model of the previous page. */
  async list(principal: Principal, projectId: string, limit: number, cursor?: number) {
    const project = await this.projects.get(principal, projectId);
    const rows = await this.models.list(project.id, limit + 1, cursor);
    const page = rows.slice(0, limit);
    return {
      data: page.map(modelView),
      nextCursor: rows.length > limit ? page[page.length - 1].number : null,
    };
  }

  async get(principal: Principal, id: string) {
    return modelView(await this.find(principal, id));
  }

  /** The model version, after checking the caller may see its project; 404 when it does not exist. */
  async find(principal: Principal, id: string): Promise<ModelVersionRecord> {
    return (await this.findWithProject(principal, id)).model;
  }

  private async findWithProject(principal: Principal, id: string) {
    const model = await this.models.findById(id);
    if (!model) throw ApiError.notFound('model', id);
    return { model, project: await this.projects.get(principal, model.projectId) };
  }

  /** The model's class probabilities and top label for ad-hoc inputs shaped like the project's items. */
  async predict(principal: Principal, id: string, rawInputs: Record<string, unknown>[]) {
    const { model, project } = await this.findWithProject(principal, id);
    const inputs = predictInputs(project.inputKind, rawInputs);
    const { labels, probabilities } = await this.serving.predict(model, inputs);
    return {
      model: { id: model.id, number: model.number },
      labels,
      predictions: probabilities.map((row) => {
        let best = 0;
        for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
        return { label: labels[best], probability: row[best], probabilities: row };
      }),
    };
  }

  /**
   * Makes a ready model the promoted one whatever its holdout accuracy (a rollback is a promotion of an
   * older model), then has the pool rescored so the queue's pre-labels follow it.
   */
  async promote(principal: Principal, id: string) {
    const model = await this.find(principal, id);
    if (model.status !== 'ready') throw ApiError.conflict(`model ${id} is ${model.status}, not ready`);
    if (!(await this.models.promote(model.projectId, model.id))) {
      throw ApiError.conflict(`model ${id} is no longer ready`);
    }
    const scoringJobId = await this.followPromotion(model.projectId, model.id);
    return { ...modelView((await this.models.findById(id))!), scoringJobId };
  }

  /**
   * What a promotion sets off, as after a training (see the trainer): a scoring of the pool with the
   * promoted model, deduplicated per project; the scorer queues the suspects refresh once the queue is
   * rewritten. Returns the scoring job's id.
   */
  async followPromotion(projectId: string, modelVersionId: string): Promise<string | undefined> {
    const data: ScoringJobData = { projectId, modelVersionId };
    const job = await this.queues.scoring.add(SCORING_JOB, data, scoringJobOptions(projectId));
    return job.id;
  }
}
