import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { ApiKeyRole } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { ApiKeyService } from './api-key.service';
import { Principal, roleAtLeast } from './principal';
import { PUBLIC_ROUTE } from '@labelloop/observability';
import { REQUIRED_ROLE } from './roles.decorator';

type AuthenticatedRequest = { headers: Record<string, string | undefined>; principal?: Principal };

/** What a route asks of the caller, read from its decorators once. */
interface RouteRule {
  public: boolean;
  required: ApiKeyRole;
}

/** Bearer API key on every route not marked @Public(); role checked against @RequireRole. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** Per handler: decorators do not change at run time, so the metadata lookups happen once per route. */
  private readonly rules = new WeakMap<object, RouteRule>();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  private ruleFor(context: ExecutionContext): RouteRule {
    const handler = context.getHandler();
    let rule = this.rules.get(handler);
    if (!rule) {
      const targets = [handler, context.getClass()];
      rule = {
        public: this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) ?? false,
        required: this.reflector.getAllAndOverride<ApiKeyRole>(REQUIRED_ROLE, targets) ?? 'admin',
      };
      this.rules.set(handler, rule);
    }
    return rule;
  }

  /** Synchronous when the key is in ApiKeyService's cache (the usual case), so Nest need not await it. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const rule = this.ruleFor(context);
    if (rule.public) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new ApiError(HttpStatus.UNAUTHORIZED, 'missing API key: send "Authorization: Bearer <key>"');
    }
    const cached = this.keys.cached(match[1]);
    if (cached !== undefined) return this.admit(request, rule, cached);
    return this.keys.authenticate(match[1]).then((principal) => this.admit(request, rule, principal));
  }

  private admit(request: AuthenticatedRequest, rule: RouteRule, principal: Principal | null): boolean {
    if (!principal) throw new ApiError(HttpStatus.UNAUTHORIZED, 'unknown or revoked API key');
    const required = rule.required;
    if (!roleAtLeast(principal.role, required)) {
      throw ApiError.forbidden(`this route needs the ${required} role; the key has ${principal.role}`);
    }
    request.principal = principal;
    return true;
  }
}
