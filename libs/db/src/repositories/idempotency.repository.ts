import { Inject, Injectable } from '@nestjs/common';
import { PRISMA } from '../db.tokens';
import type { Prisma } from '../prisma';

export interface StoredResponse {
  route: string;
  requestHash: string;
  statusCode: number;
  response: unknown;
}

@Injectable()
export class IdempotencyRepository {
  constructor(@Inject(PRISMA) private readonly prisma: Prisma) {}

  find(apiKeyId: string, key: string): Promise<StoredResponse | null> {
    return this.prisma.idempotentRequest.findUnique({
      where: { apiKeyId_key: { apiKeyId, key } },
      select: { route: true, requestHash: true, statusCode: true, response: true },
    });
  }

  /** First writer wins; a concurrent duplicate simply does not store a second answer. */
  async save(apiKeyId: string, key: string, stored: StoredResponse): Promise<void> {
    await this.prisma.idempotentRequest.createMany({
      data: [{ apiKeyId, key, ...stored, response: stored.response as object }],
      skipDuplicates: true,
    });
  }
}
