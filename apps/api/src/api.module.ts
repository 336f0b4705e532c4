import { Module, OnModuleInit } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TasksRepository } from '@labelloop/db';
import { Metrics } from '@labelloop/observability';
import { AnnotationsController } from './annotations/annotations.controller';
import { AnnotationsService } from './annotations/annotations.service';
import { ApiKeysController } from './api-keys/api-keys.controller';
import { ApiKeysService } from './api-keys/api-keys.service';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyService } from './auth/api-key.service';
import { IdempotentWrites } from './common/idempotent-writes';
import { ItemsImportService } from './items/items-import.service';
import { ItemsController } from './items/items.controller';
import { ItemsService } from './items/items.service';
import { LearningCurveController } from './learning-curve/learning-curve.controller';
import { LearningCurveService } from './learning-curve/learning-curve.service';
import { ModelBundlesService } from './models/model-bundles.service';
import { ModelServingService } from './models/model-serving.service';
import { ModelsController } from './models/models.controller';
import { ModelsService } from './models/models.service';
import { ProjectsController } from './projects/projects.controller';
import { ProjectsService } from './projects/projects.service';
import { StatsController } from './stats/stats.controller';
import { StatsService } from './stats/stats.service';
import { SuspectsController } from './suspects/suspects.controller';
import { TasksController } from './tasks/tasks.controller';
import { TasksService } from './tasks/tasks.service';
import { RetrainTrigger } from './training/retrain-trigger';
import { ScoringRequests } from './training/scoring-requests';
import { TrainingController } from './training/training.controller';
import { TrainingService } from './training/training.service';
import { VersionExportService } from './versions/version-export.service';
import { VersionsController } from './versions/versions.controller';
import { VersionsService } from './versions/versions.service';
import { LABEL_STUDIO_CONTROLLERS, LABEL_STUDIO_PROVIDERS } from './label-studio';

/** The REST API under /v1. Needs the database, Redis, object store and observability modules. */
@Module({
  controllers: [
    ApiKeysController,
    ProjectsController,
    ItemsController,
    TasksController,
    AnnotationsController,
    StatsController,
    TrainingController,
    SuspectsController,
    ...LABEL_STUDIO_CONTROLLERS,
    VersionsController,
    ModelsController,
    LearningCurveController,
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    ApiKeyService,
    ApiKeysService,
    IdempotentWrites,
    ProjectsService,
    ItemsService,
    ItemsImportService,
    TasksService,
    AnnotationsService,
    StatsService,
    TrainingService,
    RetrainTrigger,
    ScoringRequests,
    VersionsService,
    VersionExportService,
    ModelsService,
    ModelBundlesService,
    ModelServingService,
    LearningCurveService,
    ...LABEL_STUDIO_PROVIDERS,
  ],
  exports: [ApiKeyService, ModelServingService],
})
export class ApiModule implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly tasks: TasksRepository,
  ) {}

  onModuleInit(): void {
    this.metrics.onCollect(async () => {
      this.metrics.tasksOpen.reset();
      this.metrics.tasksLeased.reset();
      for (const depth of await this.tasks.queueDepths()) {
        this.metrics.tasksOpen.set({ project: depth.projectId }, depth.open);
        this.metrics.tasksLeased.set({ project: depth.projectId }, depth.leased);
      }
    });
  }
}
