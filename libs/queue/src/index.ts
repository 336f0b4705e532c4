export * from './handlers';
export * from './queue.module';
export * from './queues';
export * from './redis.module';
export * from './retrain-counter';
export * from './scoring';
export * from './suspects';
export * from './training';
