import { Injectable } from '@nestjs/common';
import {
  type LabelStudioConnectorRecord,
  LabelStudioConnectorsRepository,
  LabelStudioEventsRepository,
} from '@labelloop/db';
import { z } from 'zod';
import { hashApiKey } from '../auth/api-key.service';
import { type Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ProjectsService } from '../projects/projects.service';
import { hashPassword, newConnectorToken, tokenPrefix } from './connector-credentials';
import { MAX_EVENT_ATTEMPTS } from './webhook-processor.service';

export const createConnectorBody = z
  .strictObject({
    /** Basic auth Label Studio sends on /health, /setup, /predict, /versions and Start Training. */
    basicAuth: z
      .strictObject({
        username: z
          .string()
          .min(1)
          .max(200)
          .refine((u) => !u.includes(':'), 'must not contain ":"'),
        password: z.string().min(12, 'at least 12 characters').max(200),
      })
      .optional(),
  })
  .default({});
export type CreateConnectorBody = z.infer<typeof createConnectorBody>;

/** The backend URL path Label Studio is given; the full URL is the service's public address + this. */
export function backendPath(token: string): string {
  return `/v1/label-studio/${token}/`;
}

/** Create, show, rotate and revoke a project's Label Studio connector (admin routes). */
@Injectable()
export class LabelStudioConnectorsService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly connectors: LabelStudioConnectorsRepository,
    private readonly events: LabelStudioEventsRepository,
  ) {}

  async create(principal: Principal, projectId: string, body: CreateConnectorBody, origin: string) {
    const project = await this.projects.get(principal, projectId);
    if (project.inputKind === 'tabular') {
      throw ApiError.badRequest('Label Studio connectors serve text and image projects; this one is tabular');
    }
    const token = newConnectorToken();
    const created = await this.connectors.create({
      projectId: project.id,
      tokenHash: hashApiKey(token),
      tokenPrefix: tokenPrefix(token),
      basicAuthUser: body.basicAuth?.username ?? null,
      basicAuthPassHash: body.basicAuth ? await hashPassword(body.basicAuth.password) : null,
      createdBy: principal.name,
    });
    if (!created) {
      throw ApiError.conflict(
        'the project already has a Label Studio connector: rotate its token or revoke it first',
      );
    }
    return this.withUrl(created, token, origin);
  }

  async get(principal: Principal, projectId: string) {
    const project = await this.projects.get(principal, projectId);
    const connector = await this.active(project.id);
    return {
      ...view(connector),
      events: await this.events.eventCounts(project.id, MAX_EVENT_ATTEMPTS),
      failedEvents: await this.events.failures(project.id, MAX_EVENT_ATTEMPTS, 20),
    };
  }

  async rotate(principal: Principal, projectId: string, origin: string) {
    const project = await this.projects.get(principal, projectId);
    const token = newConnectorToken();
    const rotated = await this.connectors.rotate(project.id, hashApiKey(token), tokenPrefix(token));
    if (!rotated) throw ApiError.notFound('Label Studio connector of project', project.id);
    return this.withUrl(rotated, token, origin);
  }

  async revoke(principal: Principal, projectId: string): Promise<void> {
    const project = await this.projects.get(principal, projectId);
    if (!(await this.connectors.revoke(project.id))) {
      throw ApiError.notFound('Label Studio connector of project', project.id);
    }
  }

  private async active(projectId: string): Promise<LabelStudioConnectorRecord> {
    const connector = await this.connectors.findActiveByProject(projectId);
    if (!connector) throw ApiError.notFound('Label Studio connector of project', projectId);
    return connector;
  }

  /** The token is shown once, here; only its hash is stored. */
  private withUrl(connector: LabelStudioConnectorRecord, token: string, origin: string) {
    return {
      ...view(connector),
      token,
      backendPath: backendPath(token),
      backendUrl: origin + backendPath(token),
    };
  }
}

function view(connector: LabelStudioConnectorRecord) {
  return {
    id: connector.id,
    projectId: connector.projectId,
    tokenPrefix: connector.tokenPrefix,
    basicAuth: connector.basicAuthUser ? { username: connector.basicAuthUser } : null,
    createdBy: connector.createdBy,
    createdAt: connector.createdAt,
    rotatedAt: connector.rotatedAt,
    setupAt: connector.setupAt,
    labelConfig: connector.setup
      ? {
          fromName: connector.setup.fromName,
          toName: connector.setup.toName,
          objectType: connector.setup.objectType,
          dataKey: connector.setup.dataKey,
          hostname: connector.setup.lsHostname,
        }
      : null,
  };
}
