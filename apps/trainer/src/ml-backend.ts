import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { LOGGER } from '@labelloop/observability';
import { resolveBackend, type BackendReport } from '@labelloop/ml';
import type { Logger } from 'pino';

/**
 * The TensorFlow.js backend of a worker process, shared by its job processors.
 * Resolved on the first job, not at start-up: a worker that never trains or scores
 * never loads a backend. A failure is not kept, so the job's retry tries again.
 */
@Injectable()
export class MlBackend {
  private report?: Promise<BackendReport>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  ready(): Promise<BackendReport> {
    this.report ??= resolveBackend({ prefer: this.config.mlBackend === 'auto' ? '' : this.config.mlBackend })
      .then((report) => {
        this.logger.info({ backend: report.backend, skipped: report.skipped }, 'ML backend ready');
        return report;
      })
      .catch((error: Error) => {
        this.report = undefined;
        throw error;
      });
    return this.report;
  }
}
