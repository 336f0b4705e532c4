import { Inject, Module, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@labelloop/observability';
import { ScoringProcessor } from './scoring.processor';

/** The scoring worker: consumes the `scoring` queue (see ScoringProcessor). */
@Module({ providers: [ScoringProcessor] })
export class ScorerModule implements OnModuleInit {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.logger.info({ component: 'scorer' }, 'scorer ready');
  }
}
