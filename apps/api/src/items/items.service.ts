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

  /**
   * The item's annotation log, newest first (like `git log`), each entry with the label the item
   * had before it; `cursor` is the seq of the previous page's last entry.
   */
  async history(principal: Principal, id: string, limit: number, cursor?: string) {
    const item = await this.items.findById(id);
    if (!item) throw ApiError.notFound('item', id);
    assertProjectAccess(principal, item.projectId);
    const rows = await this.annotations.historyForItem(item.projectId, id, limit + 1, cursor);
    const data = rows.slice(0, limit);
    return {
      itemId: item.id,
      externalId: item.externalId,
      label: item.label,
      data,
      nextCursor: rows.length > limit ? data[data.length - 1].seq : null,
    };
  }

  /**
   * Deletes the item (see ItemsRepository.delete): gone from the pool, the queue, scoring, training, stats and
   * versions committed from now on; versions committed before still hold and export it.
   */
  async delete(principal: Principal, id: string): Promise<void> {
    const item = await this.items.findById(id);
    if (!item) throw ApiError.notFound('item', id);
    assertProjectAccess(principal, item.projectId);
    if (!(await this.items.delete(item, principal.name))) throw ApiError.notFound('item', id);
  }

  /** The item with its whole label history, newest last. */
  async get(principal: Principal, id: string) {
    const item = await this.items.findById(id);
    if (!item) throw ApiError.notFound('item', id);
    assertProjectAccess(principal, item.projectId);
    return { ...item, annotations: await this.annotations.listForItem(item.projectId, id) };
  }
}
