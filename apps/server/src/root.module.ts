import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type AppConfig } from '@labelloop/config';
import { DbModule } from '@labelloop/db';
import { Metrics, ObservabilityModule } from '@labelloop/observability';
import { PipelineModule } from '@labelloop/pipeline';
import { QueueModule, RedisModule } from '@labelloop/queue';
import { StorageModule } from '@labelloop/storage';
import type { Logger } from 'pino';
import { ApiModule } from '../../api/src/api.module';
import { ScorerModule } from '../../scorer/src/scorer.module';
import { TrainerModule } from '../../trainer/src/trainer.module';
import { DependencyHealth } from './dependency-health';
import { ModelMetrics } from './model-metrics';

/** The modules one process runs: shared infrastructure plus the role's own (all three for `all`). */
@Module({})
export class RootModule {
  static forRole(config: AppConfig, logger: Logger, metrics?: Metrics): DynamicModule {
    const role = config.role;
    return {
      module: RootModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger, metrics),
        DbModule,
        RedisModule,
        QueueModule,
        StorageModule,
        PipelineModule,
        ...(role === 'api' || role === 'all' ? [ApiModule] : []),
        ...(role === 'trainer' || role === 'all' ? [TrainerModule] : []),
        ...(role === 'scorer' || role === 'all' ? [ScorerModule] : []),
      ],
      providers: [DependencyHealth, ModelMetrics],
    };
  }
}
