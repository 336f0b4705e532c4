import { Inject, Injectable } from '@nestjs/common';
import { PRISMA } from '../db.tokens';
import type { Prisma } from '../prisma';

export type ApiKeyRole = 'admin' | 'annotator' | 'viewer';

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  role: ApiKeyRole;
  projectId: string | null;
  createdAt: Date;
  revokedAt: Date | null;
}

const publicFields = {
  id: true,
  name: true,
  prefix: true,
  role: true,
  projectId: true,
  createdAt: true,
  revokedAt: true,
} as const;

@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma) {}

  findActiveByHash(keyHash: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findFirst({ where: { keyHash, revokedAt: null }, select: publicFields });
  }

  findById(id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findUnique({ where: { id }, select: publicFields });
  }

  create(data: {
    name: string;
    keyHash: string;
    prefix: string;
    role: ApiKeyRole;
    projectId: string | null;
  }): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data, select: publicFields });
  }

  /**
   * Inserts the key unless a key with this hash exists already (bootstrap admin from ADMIN_API_KEY); an existing
   * one gets `prefix`, so a prefix stored by an older version is replaced.
   */
  async ensure(data: { name: string; keyHash: string; prefix: string; role: ApiKeyRole }): Promise<void> {
    await this.prisma.apiKey.upsert({
      where: { keyHash: data.keyHash },
      create: data,
      update: { prefix: data.prefix },
    });
  }

  countActiveAdmins(): Promise<number> {
    return this.prisma.apiKey.count({ where: { role: 'admin', revokedAt: null } });
  }

  list(projectId?: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({
      where: projectId ? { projectId } : {},
      orderBy: { createdAt: 'asc' },
      select: publicFields,
    });
  }

  async revoke(id: string): Promise<ApiKeyRecord | null> {
    const found = await this.prisma.apiKey.findUnique({ where: { id }, select: { id: true } });
    if (!found) return null;
    return this.prisma.apiKey.update({
      where: { id },
      data: { revokedAt: new Date() },
      select: publicFields,
    });
  }
}
