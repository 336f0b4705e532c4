import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModelsRepository } from '@labelloop/db';
import { Metrics } from '@labelloop/observability';

/**
 * model_holdout_accuracy from the database on each scrape (one indexed-by-flag query: a row per project),
 * so every role reports the promoted models, a restarted process included.
 */
@Injectable()
export class ModelMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly models: ModelsRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.onCollect(async () => {
      const rows = await this.models.promotedAccuracies();
      this.metrics.modelHoldoutAccuracy.reset();
      for (const { projectId, accuracy } of rows)
        this.metrics.modelHoldoutAccuracy.set({ project: projectId }, accuracy ?? 0);
    });
  }
}
