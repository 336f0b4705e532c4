import { Injectable } from '@nestjs/common';
import {
  DatasetVersionsRepository,
  type DatasetVersionRecord,
  type LabelChange,
  type ProjectRecord,
} from '@labelloop/db';
import { ApiError } from '../common/api-error';
import type { Principal } from '../auth/principal';
import { parseVersionRef } from './version-ref';

/** Dataset versions as commits: a watermark into the annotation log, a parent, an author and counts. */
@Injectable()
export class VersionsService {
  constructor(private readonly versions: DatasetVersionsRepository) {}

  /** Commits the project's labels as they are now; the trainer's versions share the numbering. */
  commit(principal: Principal, project: ProjectRecord, message: string): Promise<DatasetVersionRecord> {
    return this.versions.freeze(project.id, message, principal.name);
  }

  async list(project: ProjectRecord, limit: number, cursor?: number) {
    const rows = await this.versions.list(project.id, limit + 1, cursor);
    const page = rows.slice(0, limit);
    return { data: page, nextCursor: rows.length > limit ? page[page.length - 1].number : null };
  }

  /**
   * The version `ref` (number or uuid) of the project: 404 when there is none, 400 when the
   * uuid names a version of another project (a diff never mixes projects).
   */
  async resolve(project: ProjectRecord, ref: string): Promise<DatasetVersionRecord> {
    const parsed = parseVersionRef(ref);
    const version =
      parsed === null
        ? null
        : 'number' in parsed
          ? await this.versions.findByNumber(project.id, parsed.number)
          : await this.versions.findById(parsed.id);
    if (!version) throw ApiError.notFound('version', `${ref} of project ${project.id}`);
    if (version.projectId !== project.id) {
      throw ApiError.badRequest(`version ${ref} belongs to another project, not to project ${project.id}`, {
        field: 'version',
      });
    }
    return version;
  }

  /** Labels added, changed and removed from version `a` to version `b`: counts and one page of items. */
  async diff(
    project: ProjectRecord,
    refA: string,
    refB: string,
    page: { limit: number; cursor?: string; change?: LabelChange },
  ) {
    const a = await this.resolve(project, refA);
    const b = await this.resolve(project, refB);
    const [counts, rows] = await Promise.all([
      this.versions.diffCounts(project.id, a, b),
      this.versions.diffPage(project.id, a, b, { ...page, limit: page.limit + 1 }),
    ]);
    const data = rows.slice(0, page.limit);
    return {
      from: { id: a.id, number: a.number },
      to: { id: b.id, number: b.number },
      counts: { ...counts, total: counts.added + counts.changed + counts.removed },
      data,
      nextCursor: rows.length > page.limit ? data[data.length - 1].itemId : null,
    };
  }
}
