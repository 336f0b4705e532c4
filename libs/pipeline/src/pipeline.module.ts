import { Global, Module } from '@nestjs/common';
import { ComputePool } from './compute/compute-pool';
import { ScoringPipeline } from './scoring-pipeline';
import { StopSetStep } from './stop-set-step';
import { SuspectsPipeline } from './suspects-pipeline';
import { TrainingPipeline } from './training-pipeline';

/**
 * The model pipeline every role shares: one compute pool per process (its workers hold the backend and the
 * model cache) and the training, scoring and suspects steps. Imported once by the launcher.
 */
@Global()
@Module({
  providers: [ComputePool, TrainingPipeline, ScoringPipeline, StopSetStep, SuspectsPipeline],
  exports: [ComputePool, TrainingPipeline, ScoringPipeline, SuspectsPipeline],
})
export class PipelineModule {}
