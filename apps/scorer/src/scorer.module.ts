import { Inject, Module, OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '@labelloop/observability';
import { ScoringProcessor } from './scoring.processor';
import { SuspectsProcessor } from './suspects.processor';

/** The scoring worker: consumes the `scoring` and `suspects` queues (see ScoringProcessor, SuspectsProcessor). */
@Module({ providers: [ScoringProcessor, SuspectsProcessor] })
export class ScorerModule implements OnModuleInit {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  onModuleInit(): void {
    this.logger.info({ component: 'scorer' }, 'scorer ready');
  }
}
