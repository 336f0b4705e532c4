import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { HealthService } from './health';
import { Metrics } from './metrics';
import { ObservabilityController } from './observability.controller';

export const LOGGER = Symbol('LOGGER');

/** Logger, metrics registry and health registry for the process, plus /health/* and /metrics. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(logger: Logger, metrics: Metrics = new Metrics()): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [ObservabilityController],
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: Metrics, useValue: metrics },
        HealthService,
      ],
      exports: [LOGGER, Metrics, HealthService],
    };
  }
}
