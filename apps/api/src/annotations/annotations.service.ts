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
      this.retrain.labelWritten(written.projectId);
      return written;
    }
    const item = await this.items.findById(itemId);
    if (!item) throw ApiError.notFound('item', itemId);
    assertProjectAccess(principal, item.projectId);
    const project = await this.projects.findById(item.projectId);
    throw ApiError.unknownLabel(input.label, project?.labels ?? []);
  }

  /**
   * Appends an annotation (source `review`, by the caller) that gives the item back the label it had
   * just before annotation `id`: a retraction when it had none. The log keeps both; nothing is deleted.
   */
  async revert(principal: Principal, id: string) {
    const found = await this.annotations.findWithPriorLabel(id);
    if (!found) throw ApiError.notFound('annotation', id);
    assertProjectAccess(principal, found.projectId);
    const itemId = found.annotation.itemId;
    const target = {
      itemId,
      annotator: principal.name,
      source: 'review' as const,
      scopeProjectId: found.projectId,
    };
    const written =
      found.priorLabel === null
        ? await this.annotations.retractForItem(target)
        : await this.annotations.appendForItem({ ...target, label: found.priorLabel, leadTimeMs: null });
    if (!written) {
      // The log references the item, so it was deleted since, or the label was dropped from the set since.
      if (!(await this.items.findById(itemId))) throw ApiError.notFound('item', itemId);
      throw ApiError.conflict(
        `label ${JSON.stringify(found.priorLabel)} is no longer in the project's label set; annotate the item instead`,
        { field: 'label' },
      );
    }
    if (written.label !== null) this.metrics.recordLabel(written.projectId, principal.name, undefined);
    this.retrain.labelWritten(written.projectId);
    return { ...written, revertedAnnotationId: id };
  }
}
