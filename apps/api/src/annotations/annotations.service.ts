import { Injectable } from '@nestjs/common';
import { AnnotationsRepository, ItemsRepository, ProjectsRepository } from '@labelloop/db';
import { Metrics } from '@labelloop/observability';
import { ApiError } from '../common/api-error';
import { type Principal, assertProjectAccess } from '../auth/principal';
import { RetrainTrigger } from '../training/retrain-trigger';

@Injectable()
export class AnnotationsService {
  constructor(
    private readonly annotations: AnnotationsRepository,
    private readonly items: ItemsRepository,
    private readonly projects: ProjectsRepository,
    private readonly metrics: Metrics,
    private readonly retrain: RetrainTrigger,
  ) {}

  async append(
    principal: Principal,
    itemId: string,
    input: { label: string; source: 'human' | 'review'; leadTimeMs?: number; annotator?: string },
  ) {
    const annotator = input.annotator ?? principal.name;
    const written = await this.annotations.appendForItem({
      itemId,
      label: input.label,
      annotator,
      leadTimeMs: input.leadTimeMs ?? null,
      source: input.source,
      scopeProjectId: principal.projectId,
    });
    if (written) {
      this.metrics.recordLabel(written.projectId, annotator, input.leadTimeMs);
      await this.retrain.labelWritten(written.projectId);
      return written;
    }
    const item = await this.items.findById(itemId);
    if (!item) throw ApiError.notFound('item', itemId);
    assertProjectAccess(principal, item.projectId);
    const project = await this.projects.findById(item.projectId);
    throw ApiError.unknownLabel(input.label, project?.labels ?? []);
  }
}
