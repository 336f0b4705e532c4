import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { PG_POOL } from '@labelloop/db';
import { HealthService } from '@labelloop/observability';
import { REDIS } from '@labelloop/queue';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';

/** Registers the readiness checks every role shares: database, Redis and object store. */
@Injectable()
export class DependencyHealth implements OnModuleInit {
  constructor(
    private readonly health: HealthService,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  onModuleInit(): void {
    this.health.register({ name: 'database', check: async () => void (await this.pool.query('SELECT 1')) });
    this.health.register({
      name: 'redis',
      check: async () => {
        if ((await this.redis.ping()) !== 'PONG') throw new Error('Redis did not answer PONG');
      },
    });
    this.health.register({ name: 'objectStore', check: () => this.store.check() });
  }
}
