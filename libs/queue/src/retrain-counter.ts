import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { REDIS } from './redis.module';

/**
 * Labels written since a project's last training froze its dataset version, as one Redis counter per
 * project: the API adds its labels in batches (an atomic INCRBY per project every 100 ms, after the responses;
 * see RetrainTrigger) instead of counting the annotation log. The trainer resets it when it freezes a version. It is a hint, not the truth: labels written between the
 * freeze and the reset are not counted (a retraining comes that many labels later), and a lost reset
 * over-counts, which the API repairs from the annotation log when the counter reaches the threshold.
 */
@Injectable()
export class RetrainCounter {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.redis.queuePrefix}:labels-since-training:`;
  }

  /** Counts `by` more labels (one by default); returns the count since the last training. */
  increment(projectId: string, by = 1): Promise<number> {
    return by === 1
      ? this.redis.incr(this.prefix + projectId)
      : this.redis.incrby(this.prefix + projectId, by);
  }

  /** Replaces the count with the exact one from the annotation log. */
  async set(projectId: string, count: number): Promise<void> {
    await this.redis.set(this.prefix + projectId, count);
  }

  async reset(projectId: string): Promise<void> {
    await this.redis.del(this.prefix + projectId);
  }
}
