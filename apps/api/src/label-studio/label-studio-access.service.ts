import { HttpStatus, Injectable } from '@nestjs/common';
import {
  type LabelStudioConnectorRecord,
  LabelStudioConnectorsRepository,
  type ProjectRecord,
  ProjectsRepository,
} from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { hashToken, parseBasicAuth, verifyPassword } from './connector-credentials';

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
 * without credentials, are authorized by the token alone.
 */
@Injectable()
export class LabelStudioAccess {
  constructor(
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly projects: ProjectsRepository,
  ) {}

  async resolve(
    token: string,
    authorization: string | undefined,
    credentials: 'required' | 'token-only',
  ): Promise<LabelStudioCaller> {
    const connector = token.startsWith('lsc_')
      ? await this.connectors.findActiveByTokenHash(hashToken(token))
      : null;
    const project = connector ? await this.projects.findById(connector.projectId) : null;
    if (!connector || !project) {
      throw new ApiError(
        HttpStatus.NOT_FOUND,
        'unknown Label Studio connector: the backend URL is wrong, or its token was rotated or revoked',
      );
    }
    if (credentials === 'required') this.checkBasicAuth(connector, authorization);
    return { connector, project };
  }

  checkBasicAuth(connector: LabelStudioConnectorRecord, authorization: string | undefined): void {
    if (!connector.basicAuthUser || !connector.basicAuthPassHash) return;
    const given = parseBasicAuth(authorization);
    if (
      !given ||
      given.user !== connector.basicAuthUser ||
      !verifyPassword(given.password, connector.basicAuthPassHash)
    ) {
      throw new BasicAuthRequired();
    }
  }
}
