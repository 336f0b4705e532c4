import { Injectable } from '@nestjs/common';
import { StatsRepository } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { type Principal } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';

@Injectable()
export class StatsService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly stats: StatsRepository,
  ) {}

  async projectStats(principal: Principal, projectId: string, windowHours: number) {
    const project = await this.projects.get(principal, projectId);
    return this.stats.projectStats(project.id, windowHours);
  }

  /** Throughput per hour or day between `from` and `to` (default: the last 48 buckets). */
  async timeseries(principal: Principal, projectId: string, bucket: 'hour' | 'day', from?: Date, to?: Date) {
    const project = await this.projects.get(principal, projectId);
    const bucketMs = (bucket === 'hour' ? 1 : 24) * 3_600_000;
    const end = to ?? new Date();
    const start = from ?? new Date(end.getTime() - (MAX_DEFAULT_BUCKETS - 1) * bucketMs);
    if (start > end) throw ApiError.badRequest('from: must not be after to', { field: 'from' });
    if ((end.getTime() - start.getTime()) / bucketMs > MAX_BUCKETS) {
      throw ApiError.badRequest(`from: at most ${MAX_BUCKETS} ${bucket} buckets per request`, {
        field: 'from',
        limit: MAX_BUCKETS,
      });
    }
    return { bucket, data: await this.stats.timeseries(project.id, bucket, start, end) };
  }
}

const MAX_DEFAULT_BUCKETS = 48;
const MAX_BUCKETS = 2000;
