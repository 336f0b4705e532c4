import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { ApiKeyRole } from '@labelloop/db';
import { ApiError } from '../common/api-error';

/** Who is calling: the API key's identity, role and optional project scope. */
export interface Principal {
  keyId: string;
  name: string;
  role: ApiKeyRole;
  projectId: string | null;
}

const rank: Record<ApiKeyRole, number> = { viewer: 0, annotator: 1, admin: 2 };

export function roleAtLeast(role: ApiKeyRole, required: ApiKeyRole): boolean {
  return rank[role] >= rank[required];
}

/** 403 unless the key is unscoped or scoped to this very project. */
export function assertProjectAccess(principal: Principal, projectId: string): void {
  if (principal.projectId !== null && principal.projectId !== projectId) {
    throw ApiError.forbidden(`this API key is scoped to project ${principal.projectId}`);
  }
}

export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal =>
    context.switchToHttp().getRequest<{ principal: Principal }>().principal,
);
