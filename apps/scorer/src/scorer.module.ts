import { Inject, Module, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@labelloop/observability';

/** The scoring worker. It boots with the shared infrastructure; the scoring processor arrives with the loop. */
@Module({})
export class ScorerModule implements OnModuleInit {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.logger.info({ component: 'scorer' }, 'scorer ready');
  }
}
