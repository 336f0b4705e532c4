import { Inject, Injectable } from '@nestjs/common';
import { PRISMA } from '../db.tokens';
import type { Prisma } from '../prisma';

export type InputKind = 'image' | 'text' | 'tabular';

export interface ProjectRecord {
  id: string;
  name: string;
  inputKind: InputKind;
  labels: string[];
  modelSpec: unknown;
  acquisitionSpec: unknown;
  holdoutFraction: number;
  seed: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewProject {
  name: string;
  inputKind: InputKind;
  labels: string[];
  modelSpec: object;
  acquisitionSpec: object;
  holdoutFraction: number;
  seed: number;
}

@Injectable()
export class ProjectsRepository {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma) {}

  create(data: NewProject): Promise<ProjectRecord> {
    return this.prisma.project.create({ data }) as Promise<ProjectRecord>;
  }

  findById(id: string): Promise<ProjectRecord | null> {
    return this.prisma.project.findUnique({ where: { id } }) as Promise<ProjectRecord | null>;
  }

  /** Newest first; the cursor is the last id of the previous page. */
  async list(options: { limit: number; cursor?: string; onlyId?: string }): Promise<ProjectRecord[]> {
    return (await this.prisma.project.findMany({
      where: options.onlyId ? { id: options.onlyId } : {},
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: options.limit,
      ...(options.cursor ? { cursor: { id: options.cursor }, skip: 1 } : {}),
    })) as ProjectRecord[];
  }

  async update(
    id: string,
    data: Partial<Pick<NewProject, 'name' | 'labels' | 'modelSpec' | 'acquisitionSpec'>>,
  ): Promise<ProjectRecord> {
    return (await this.prisma.project.update({ where: { id }, data })) as ProjectRecord;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.prisma.project.deleteMany({ where: { id } });
    return result.count > 0;
  }

  /** Labels that annotations already use, so an update cannot drop one of them. */
  async labelsInUse(id: string): Promise<string[]> {
    const rows = await this.prisma.item.groupBy({
      by: ['label'],
      where: { projectId: id, label: { not: null } },
    });
    return rows.map((row) => row.label as string);
  }
}
