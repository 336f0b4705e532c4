import { Injectable } from '@nestjs/common';
import { AnnotationsRepository, ItemFilter, ItemsRepository } from '@labelloop/db';
import { ApiError } from '../common/api-error';
import { type Principal, assertProjectAccess } from '../auth/principal';

@Injectable()
export class ItemsService {
  constructor(
    private readonly items: ItemsRepository,
    private readonly annotations: AnnotationsRepository,
  ) {}

  async list(filter: ItemFilter) {
    const rows = await this.items.list({ ...filter, limit: filter.limit + 1 });
    const page = rows.slice(0, filter.limit);
    return { data: page, nextCursor: rows.length > filter.limit ? page[page.length - 1].id : null };
  }

  /** The item with its whole label history, newest last. */
  async get(principal: Principal, id: string) {
    const item = await this.items.findById(id);
    if (!item) throw ApiError.notFound('item', id);
    assertProjectAccess(principal, item.projectId);
    return { ...item, annotations: await this.annotations.listForItem(id) };
  }
}
