/**
 * @labelloop/pipeline: the model pipeline shared by the trainer, the scorer and the API's model serving.
 * The event loop reads and writes (PostgreSQL, the object store); every CPU-heavy step runs in a compute
 * worker (see ComputePool).
 */
export * from './artifact-store';
export * from './compute/compute-pool';
export * from './compute/messages';
export * from './labeled-set';
export * from './model-input';
export * from './pipeline.module';
export * from './ranking';
export * from './scoring-pipeline';
export * from './stop-set-step';
export * from './suspects-pipeline';
export * from './training-pipeline';
export * from './training-set';
