import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ModelsRepository } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import { JobQueues, type ScoreNewJobData } from '@labelloop/queue';

/**
 * Asks the scorer to score a project's new pool items (after an import, or when a lease finds the queue
 * short) so they join the ranked queue without waiting for the next training. Only projects with a promoted
 * model need it: before one, the cold-start queue takes new items by itself. Never awaited by the request and
 * never fails it: the job is deduplicated per project, and a missed request is repeated by the next short lease.
 */
@Injectable()
export class ScoringRequests {
  constructor(
    private readonly models: ModelsRepository,
    private readonly queues: JobQueues,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  requestNew(projectId: string, reason: ScoreNewJobData['reason']): void {
    void (async () => {
      if (!(await this.models.promoted(projectId))) return;
      await this.queues.scoreNew(projectId, reason);
    })().catch((error: Error) =>
      this.logger.warn({ projectId, reason, err: error.message }, 'incremental scoring request failed'),
    );
  }
}
