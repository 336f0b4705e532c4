import { Injectable } from '@nestjs/common';
import { StatsRepository } from '@labelloop/db';
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
}
