import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiKeyRole } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { ApiKeyService } from './api-key.service';
import { Principal, roleAtLeast } from './principal';
import { PUBLIC_ROUTE } from '@labelloop/observability';
import { REQUIRED_ROLE } from './roles.decorator';

/** Bearer API key on every route not marked @Public(); role checked against @RequireRole. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined>; principal?: Principal }>();
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'missing API key: send "Authorization: Bearer <key>"');
    }
    const principal = await this.keys.authenticate(match[1]);
    if (!principal) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unknown or revoked API key');
    const required = this.reflector.getAllAndOverride<ApiKeyRole>(REQUIRED_ROLE, targets) ?? 'admin';
    if (!roleAtLeast(principal.role, required)) {
      throw ApiError.forbidden(`this route needs the ${required} role; the key has ${principal.role}`);
    }
    request.principal = principal;
    return true;
  }
}
