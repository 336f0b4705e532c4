import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import {
  type LabelStudioConnectorRecord,
  LabelStudioConnectorsRepository,
  type ProjectRecord,
  ProjectsRepository,
} from '@labelloop/db';
import { hashApiKey } from '../auth/api-key.service';
import { ApiError } from '../common/api-error';
import { parseBasicAuth, verifyPassword } from './connector-credentials';

export interface LabelStudioCaller {
  connector: LabelStudioConnectorRecord;
  project: ProjectRecord;
}

/** Basic auth failed; the controller adds the WWW-Authenticate challenge. */
export class BasicAuthRequired extends ApiError {
  constructor() {
    super(
      HttpStatus.UNAUTHORIZED,
      'this Label Studio connector needs basic auth: wrong or missing credentials',
    );
  }
}

/**
 * Authorizes the ML-backend routes: the token in the URL is the capability (an unknown, rotated or
 * revoked token is a 404, like any unknown resource). When the connector has basic auth, the calls Label
 * Studio makes with credentials (`credentials: 'required'`) must carry them; event webhooks, which LS sends
 * without credentials, are authorized by the token alone. A passed basic-auth check is cached for
 * API_KEY_CACHE_SECONDS (like API keys), so LS's frequent calls do not each pay a scrypt; the token is
 * still looked up on every call, so a rotation or revocation takes effect at once.
 */
@Injectable()
export class LabelStudioAccess {
  private readonly passed = new Map<string, number>();

  constructor(
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly projects: ProjectsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async resolve(
    token: string,
    authorization: string | undefined,
    credentials: 'required' | 'token-only',
  ): Promise<LabelStudioCaller> {
    const connector = token.startsWith('lsc_')
      ? await this.connectors.findActiveByTokenHash(hashApiKey(token))
      : null;
    const project = connector ? await this.projects.findById(connector.projectId) : null;
    if (!connector || !project) {
      throw new ApiError(
        HttpStatus.NOT_FOUND,
        'unknown Label Studio connector: the backend URL is wrong, or its token was rotated or revoked',
      );
    }
    if (credentials === 'required') await this.checkBasicAuth(connector, authorization);
    return { connector, project };
  }

  async checkBasicAuth(
    connector: LabelStudioConnectorRecord,
    authorization: string | undefined,
  ): Promise<void> {
    if (!connector.basicAuthUser || !connector.basicAuthPassHash) return;
    // The stored hash is part of the key: a connector whose credentials change is checked afresh.
    const key = hashApiKey(`${connector.id}\0${connector.basicAuthPassHash}\0${authorization ?? ''}`);
    const now = Date.now();
    if ((this.passed.get(key) ?? 0) > now) return;
    const given = parseBasicAuth(authorization);
    if (
      !given ||
      given.user !== connector.basicAuthUser ||
      !(await verifyPassword(given.password, connector.basicAuthPassHash))
    ) {
      throw new BasicAuthRequired();
    }
    if (this.passed.size > 10_000) this.passed.clear();
    this.passed.set(key, now + this.config.auth.keyCacheSeconds * 1000);
  }
}
