import { Injectable } from '@nestjs/common';
import type { ApiKeyRole } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { ApiKeyService } from '../auth/api-key.service';
import { type Principal, assertProjectAccess } from '../auth/principal';
import { ProjectsService } from '../projects/projects.service';

/** Key management rules: a project-scoped admin manages only keys of its own project. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly projects: ProjectsService,
  ) {}

  async create(principal: Principal, input: { name: string; role: ApiKeyRole; projectId: string | null }) {
    if (principal.projectId !== null && input.projectId !== principal.projectId) {
      throw ApiError.forbidden(`this API key is scoped to project ${principal.projectId}`);
    }
    if (input.projectId) await this.projects.getUnscoped(input.projectId);
    return this.keys.create(input);
  }

  async list(principal: Principal, projectId?: string) {
    const only = projectId ?? principal.projectId ?? undefined;
    if (only !== undefined) assertProjectAccess(principal, only);
    return { data: await this.keys.list(only) };
  }

  async revoke(principal: Principal, id: string) {
    const found = await this.keys.findById(id);
    if (!found) throw ApiError.notFound('API key', id);
    if (principal.projectId !== null && found.projectId !== principal.projectId) {
      throw ApiError.forbidden(`this API key is scoped to project ${principal.projectId}`);
    }
    const revoked = await this.keys.revoke(id);
    if (!revoked) throw ApiError.notFound('API key', id);
    return revoked;
  }
}
