import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';

/** What the last accepted Label Studio `/setup` told labelloop. */
export interface LabelStudioSetup {
  labelConfig: string;
  fromName: string;
  toName: string;
  objectType: string;
  dataKey: string;
  lsHostname: string | null;
  lsAccessToken: string | null;
}

export interface LabelStudioConnectorRecord {
  id: string;
  projectId: string;
  tokenPrefix: string;
  basicAuthUser: string | null;
  basicAuthPassHash: string | null;
  createdBy: string;
  /** Null until Label Studio's first accepted `/setup`. */
  setup: LabelStudioSetup | null;
  setupAt: Date | null;
  createdAt: Date;
  rotatedAt: Date | null;
}

const COLUMNS = `id, project_id, token_prefix, basic_auth_user, basic_auth_pass_hash, created_by, label_config,
  from_name, to_name, object_type, data_key, ls_hostname, ls_access_token, setup_at, created_at, rotated_at`;

function toRecord(row: Record<string, unknown>): LabelStudioConnectorRecord {
  return {
    id: row.id as string,
    projectId: row.project_id as string,
    tokenPrefix: row.token_prefix as string,
    basicAuthUser: row.basic_auth_user as string | null,
    basicAuthPassHash: row.basic_auth_pass_hash as string | null,
    createdBy: row.created_by as string,
    setup:
      row.label_config === null
        ? null
        : {
            labelConfig: row.label_config as string,
            fromName: row.from_name as string,
            toName: row.to_name as string,
            objectType: row.object_type as string,
            dataKey: row.data_key as string,
            lsHostname: row.ls_hostname as string | null,
            lsAccessToken: row.ls_access_token as string | null,
          },
    setupAt: row.setup_at as Date | null,
    createdAt: row.created_at as Date,
    rotatedAt: row.rotated_at as Date | null,
  };
}

/** Label Studio connectors: one active per project, found by the SHA-256 of the token in its URL. */
@Injectable()
export class LabelStudioConnectorsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Null when the project already has an active connector (or does not exist). */
  async create(input: {
    projectId: string;
    tokenHash: string;
    tokenPrefix: string;
    basicAuthUser: string | null;
    basicAuthPassHash: string | null;
    createdBy: string;
  }): Promise<LabelStudioConnectorRecord | null> {
    const { rows } = await this.pool.query(
      `INSERT INTO label_studio_connectors
         (project_id, token_hash, token_prefix, basic_auth_user, basic_auth_pass_hash, created_by)
       SELECT id, $2, $3, $4, $5, $6 FROM projects WHERE id = $1
       ON CONFLICT (project_id) WHERE revoked_at IS NULL DO NOTHING
       RETURNING ${COLUMNS}`,
      [
        input.projectId,
        input.tokenHash,
        input.tokenPrefix,
        input.basicAuthUser,
        input.basicAuthPassHash,
        input.createdBy,
      ],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findActiveByProject(projectId: string): Promise<LabelStudioConnectorRecord | null> {
    const { rows } = await this.pool.query(
      `SELECT ${COLUMNS} FROM label_studio_connectors WHERE project_id = $1 AND revoked_at IS NULL`,
      [projectId],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Revoked ones included: events accepted before a revocation are still applied. */
  async findById(id: string): Promise<LabelStudioConnectorRecord | null> {
    const { rows } = await this.pool.query(`SELECT ${COLUMNS} FROM label_studio_connectors WHERE id = $1`, [
      id,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async findActiveByTokenHash(tokenHash: string): Promise<LabelStudioConnectorRecord | null> {
    const { rows } = await this.pool.query({
      name: 'label-studio-connectors.by-token',
      text: `SELECT ${COLUMNS} FROM label_studio_connectors WHERE token_hash = $1 AND revoked_at IS NULL`,
      values: [tokenHash],
    });
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * A new token for the active connector; the old one stops working at once. Null without one. LS's access
   * token is dropped too (whoever held the old URL may have sent it); LS's next /setup hands it over again.
   */
  async rotate(
    projectId: string,
    tokenHash: string,
    tokenPrefix: string,
  ): Promise<LabelStudioConnectorRecord | null> {
    const { rows } = await this.pool.query(
      `UPDATE label_studio_connectors
       SET token_hash = $2, token_prefix = $3, rotated_at = now(), ls_access_token = NULL
       WHERE project_id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
      [projectId, tokenHash, tokenPrefix],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** False when the project has no active connector. LS's access token is not kept past revocation. */
  async revoke(projectId: string): Promise<boolean> {
    const result = await this.pool.query(
      `UPDATE label_studio_connectors SET revoked_at = now(), ls_access_token = NULL
       WHERE project_id = $1 AND revoked_at IS NULL`,
      [projectId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async saveSetup(connectorId: string, setup: LabelStudioSetup): Promise<void> {
    await this.pool.query(
      `UPDATE label_studio_connectors SET label_config = $2, from_name = $3, to_name = $4, object_type = $5,
         data_key = $6, ls_hostname = $7, ls_access_token = $8, setup_at = now()
       WHERE id = $1`,
      [
        connectorId,
        setup.labelConfig,
        setup.fromName,
        setup.toName,
        setup.objectType,
        setup.dataKey,
        setup.lsHostname,
        setup.lsAccessToken,
      ],
    );
  }
}
