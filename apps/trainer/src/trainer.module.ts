import { Inject, Module, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@labelloop/observability';
import { TrainingProcessor } from './training.processor';

/** The training worker: consumes the `training` queue (see TrainingProcessor). */
@Module({ providers: [TrainingProcessor] })
export class TrainerModule implements OnModuleInit {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.logger.info({ component: 'trainer' }, 'trainer ready');
  }
}
