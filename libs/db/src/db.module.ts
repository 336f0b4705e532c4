import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { LOGGER } from '@labelloop/observability';
import type { Logger } from 'pino';
import { Pool } from 'pg';
import { PG_POOL, PRISMA } from './db.tokens';
import { createPool, createPrisma } from './prisma';
import type { Prisma } from './prisma';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { ProjectsRepository } from './repositories/projects.repository';
import { ItemsRepository } from './repositories/items.repository';
import { TasksRepository } from './repositories/tasks.repository';
import { AnnotationsRepository } from './repositories/annotations.repository';
import { StatsRepository } from './repositories/stats.repository';
import { IdempotencyRepository } from './repositories/idempotency.repository';
import { DatasetVersionsRepository } from './repositories/dataset-versions.repository';
import { ModelsRepository } from './repositories/models.repository';
import { PredictionsRepository } from './repositories/predictions.repository';
import { SuspectsRepository } from './repositories/suspects.repository';
import { StopSetRepository } from './repositories/stop-set.repository';
import { LearningCurveRepository } from './repositories/learning-curve.repository';
import { LabelStudioConnectorsRepository } from './repositories/label-studio-connectors.repository';
import { LabelStudioEventsRepository } from './repositories/label-studio-events.repository';
import { LabelStudioAnnotationsRepository } from './repositories/label-studio-annotations.repository';
import { LabelStudioItemsRepository } from './repositories/label-studio-items.repository';

const repositories = [
  ApiKeysRepository,
  ProjectsRepository,
  ItemsRepository,
  TasksRepository,
  AnnotationsRepository,
  StatsRepository,
  IdempotencyRepository,
  DatasetVersionsRepository,
  ModelsRepository,
  PredictionsRepository,
  SuspectsRepository,
  StopSetRepository,
  LearningCurveRepository,
  LabelStudioConnectorsRepository,
  LabelStudioEventsRepository,
  LabelStudioAnnotationsRepository,
  LabelStudioItemsRepository,
];

@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger) => {
        if (!config.database.url) throw new Error('DATABASE_URL is not resolved');
        return createPool(config.database.url, {
          max: config.database.poolSize,
          statementTimeoutMs: config.database.statementTimeoutMs,
          idleInTransactionTimeoutMs: config.database.idleInTransactionTimeoutMs,
          connectTimeoutMs: config.database.connectTimeoutMs,
          onError: (error) => logger.warn({ err: error.message }, 'database connection lost'),
        });
      },
    },
    { provide: PRISMA, inject: [PG_POOL], useFactory: (pool: Pool) => createPrisma(pool) },
    ...repositories,
  ],
  exports: [PG_POOL, PRISMA, ...repositories],
})
export class DbModule implements OnApplicationShutdown {
  constructor(
    @Inject(PRISMA) private readonly prisma: Prisma,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
    await this.pool.end();
  }
}
