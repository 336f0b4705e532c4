import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { ProjectsRepository, TasksRepository } from '@labelloop/db';
import { Metrics } from '@labelloop/observability';
import { ApiError } from '../common/api-error';
import { type Principal, assertProjectAccess } from '../auth/principal';
import { RetrainTrigger } from '../training/retrain-trigger';
import { ScoringRequests } from '../training/scoring-requests';

@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly projects: ProjectsRepository,
    private readonly metrics: Metrics,
    private readonly retrain: RetrainTrigger,
    private readonly scoring: ScoringRequests,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async next(principal: Principal, projectId: string, limit: number) {
    const { leaseSeconds, coldStartQueueSize } = this.config.tasks;
    const first = await this.tasks.lease(projectId, principal.keyId, leaseSeconds, limit);
    let leased = first.tasks;
    if (leased.length < limit) {
      // A short queue is topped up at once (cold-start order, or the promoted model's predictions, and the
      // holdout part), by this request or by the one that was already filling it, and items without a
      // prediction yet are sent for scoring: the queue never starves while the pool has items. The second lease
      // takes the holdout tasks the first one was short of, then anything left.
      await this.tasks.topUpQueue(projectId, coldStartQueueSize);
      const heldBack =
        first.holdoutWanted === null
          ? undefined
          : Math.max(0, first.holdoutWanted - leased.filter((task) => task.holdout).length);
      const second = await this.tasks.lease(projectId, principal.keyId, leaseSeconds, limit - leased.length, {
        holdout: heldBack,
        refilled: true,
      });
      leased = leased.concat(second.tasks);
      if (leased.length < limit) this.scoring.requestNew(projectId, 'short-queue');
    }
    // An empty queue and a project that does not exist look alike to the lease; only the second is a 404.
    if (leased.length === 0 && !(await this.projects.findById(projectId))) {
      throw ApiError.notFound('project', projectId);
    }
    return {
      data: leased.map((task) => ({
        id: task.id,
        itemId: task.itemId,
        externalId: task.externalId,
        payload: task.payload,
        objectKey: task.objectKey,
        metadata: task.metadata,
        priority: task.priority,
        preLabel: task.preLabel === null ? null : { label: task.preLabel, probability: task.preLabelProb },
        leaseExpiresAt: task.leaseExpiresAt,
      })),
    };
  }

  async annotate(
    principal: Principal,
    taskId: string,
    input: { label: string; leadTimeMs?: number; annotator?: string },
  ) {
    const annotator = input.annotator ?? principal.name;
    const written = await this.tasks.annotate({
      taskId,
      owner: principal.keyId,
      label: input.label,
      annotator,
      leadTimeMs: input.leadTimeMs ?? null,
      scopeProjectId: principal.projectId,
    });
    if (!written) throw await this.whyNotWritten(principal, taskId, input.label);
    this.metrics.recordLabel(written.projectId, annotator, input.leadTimeMs);
    this.retrain.labelWritten(written.projectId);
    return {
      annotationId: written.annotationId,
      taskId,
      itemId: written.itemId,
      label: input.label,
      seq: written.seq,
      createdAt: written.createdAt,
    };
  }

  async endLease(principal: Principal, taskId: string, outcome: 'skipped' | 'open') {
    if (await this.tasks.endLease(taskId, principal.keyId, outcome)) return { id: taskId, status: outcome };
    throw await this.whyNotWritten(principal, taskId);
  }

  /** Only reached when the one-statement write matched nothing: work out which rule said no. */
  private async whyNotWritten(principal: Principal, taskId: string, label?: string): Promise<ApiError> {
    const state = await this.tasks.findState(taskId);
    if (!state) return ApiError.notFound('task', taskId);
    assertProjectAccess(principal, state.projectId);
    if (label !== undefined && !state.labels.includes(label))
      return ApiError.unknownLabel(label, state.labels);
    if (state.status === 'done') return ApiError.conflict(`task ${taskId} is already done`);
    if (state.status !== 'leased' || state.leaseOwner !== principal.keyId) {
      return new ApiError(
        HttpStatus.CONFLICT,
        `task ${taskId} is not leased to this API key (its lease expired and was taken, or it was never leased); get tasks from /tasks/next`,
      );
    }
    return ApiError.conflict(`task ${taskId} changed while this request ran; retry`);
  }
}
