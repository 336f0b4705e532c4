import { Inject, Module, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@labelloop/observability';

/** The training worker. It boots with the shared infrastructure; the training processor arrives with the loop. */
@Module({})
export class TrainerModule implements OnModuleInit {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.logger.info({ component: 'trainer' }, 'trainer ready');
  }
}
