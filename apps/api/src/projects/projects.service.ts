import { Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { ProjectRecord, ProjectsRepository } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { Principal, assertProjectAccess } from '../auth/principal';
import { CreateProject, UpdateProject } from './project.dto';

@Injectable()
export class ProjectsService {
  constructor(private readonly projects: ProjectsRepository) {}

  /** A key scoped to one project could never read another one, so it cannot create one either. */
  create(principal: Principal, input: CreateProject): Promise<ProjectRecord> {
    if (principal.projectId !== null) {
      throw ApiError.forbidden(
        `this API key is scoped to project ${principal.projectId}: creating projects needs an unscoped admin key`,
      );
    }
    return this.projects.create({ ...input, seed: input.seed ?? randomInt(2 ** 31 - 1) });
  }

  /** The project, after checking the caller may see it; 404 when it does not exist. */
  async get(principal: Principal, id: string): Promise<ProjectRecord> {
    assertProjectAccess(principal, id);
    return this.getUnscoped(id);
  }

  async getUnscoped(id: string): Promise<ProjectRecord> {
    const project = await this.projects.findById(id);
    if (!project) throw ApiError.notFound('project', id);
    return project;
  }

  async list(principal: Principal, limit: number, cursor?: string) {
    const rows = await this.projects.list({
      limit: limit + 1,
      cursor,
      onlyId: principal.projectId ?? undefined,
    });
    const page = rows.slice(0, limit);
    return { data: page, nextCursor: rows.length > limit ? page[page.length - 1].id : null };
  }

  async update(principal: Principal, id: string, patch: UpdateProject): Promise<ProjectRecord> {
    const current = await this.get(principal, id);
    if (patch.labels) {
      const kept = new Set(patch.labels);
      const dropped = (await this.projects.labelsInUse(id)).filter((label) => !kept.has(label));
      if (dropped.length > 0) {
        throw ApiError.conflict(
          `labels still used by annotated items cannot be removed: ${dropped.join(', ')}`,
          {
            field: 'labels',
            inUse: dropped,
          },
        );
      }
    }
    return this.projects.update(id, {
      name: patch.name,
      labels: patch.labels,
      modelSpec: patch.modelSpec ? { ...(current.modelSpec as object), ...patch.modelSpec } : undefined,
      acquisitionSpec: patch.acquisitionSpec
        ? { ...(current.acquisitionSpec as object), ...patch.acquisitionSpec }
        : undefined,
    });
  }

  async delete(principal: Principal, id: string): Promise<void> {
    assertProjectAccess(principal, id);
    if (!(await this.projects.delete(id))) throw ApiError.notFound('project', id);
  }
}
