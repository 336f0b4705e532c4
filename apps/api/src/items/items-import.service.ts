import { Inject, Injectable } from '@nestjs/common';
import { finished, type Readable } from 'node:stream';
import split2 from 'split2';
import { v7 as uuidv7 } from 'uuid';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { ItemImportSession, ItemsRepository, NewItemRow, type ProjectRecord } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import { ComputePool } from '@labelloop/pipeline';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import type { Logger } from 'pino';

import { ApiError } from '../common/api-error';
import { ScoringRequests } from '../training/scoring-requests';
import { describeProblems, zodProblems } from '../common/zod';
import { findUnstorableString } from '../common/unstorable-strings';
import { assignSplit, coldStartPriority } from './deterministic';
import { ItemInput, PreparedItem, imageObjectKey, itemSchemas, prepareItem } from './item-input';

export interface ImportResult {
  received: number;
  created: number;
  existing: number;
}

const BATCH_SIZE = 2_500;
const UPLOAD_CONCURRENCY = 16;
const ANALYZE_AFTER_ROWS = 10_000;

/**
 * Imports items in one transaction: a bad line anywhere rolls back the whole
 * request, and the error names the line. Batches are written while the next one
 * is parsed, so a streamed NDJSON body is never held in memory.
 */
@Injectable()
export class ItemsImportService {
  constructor(
    private readonly items: ItemsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly scoring: ScoringRequests,
    private readonly compute: ComputePool,
  ) {}

  async importArray(project: ProjectRecord, annotator: string, body: unknown): Promise<ImportResult> {
    const list = Array.isArray(body) ? body : (body as { items?: unknown })?.items;
    if (!Array.isArray(list)) {
      throw ApiError.badRequest('body: expected a JSON array of items or { "items": [...] }', {
        field: 'items',
      });
    }
    const max = this.config.imports.maxJsonItems;
    if (list.length > max) {
      throw ApiError.badRequest(
        `body: ${list.length} items exceed the limit of ${max} per JSON request; send NDJSON (application/x-ndjson) for more`,
        { field: 'items', limit: max },
      );
    }
    return this.run(
      project,
      annotator,
      list.map((raw, index): [number, unknown] => [index + 1, raw]),
      'item',
    );
  }

  async importNdjson(project: ProjectRecord, annotator: string, stream: Readable): Promise<ImportResult> {
    const max = this.config.imports.maxNdjsonItems;
    // One line may be as large as one JSON request body; a longer one (or a body without newlines) is
    // refused as soon as it passes the limit instead of being buffered whole.
    const maxLine = this.config.http.bodyLimitBytes;
    async function* lines(): AsyncGenerator<[number, unknown]> {
      let line = 0;
      let items = 0;
      const split = stream.pipe(split2({ maxLength: maxLine }));
      // pipe() does not pass on a body that ends badly (the client went away, or stalled and was cut off):
      // the loop below would then wait for ever, holding the import's transaction and connection.
      finished(stream, (error) => {
        if (error) split.destroy(error);
      });
      try {
        for await (const text of split as AsyncIterable<string>) {
          line++;
          if (text.trim() === '') continue;
          if (++items > max) throw ApiError.badRequest(`line ${line}: more than ${max} items in one request`);
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch (error) {
            throw ApiError.badRequest(`line ${line}: malformed JSON (${(error as Error).message})`, { line });
          }
          const unstorable = findUnstorableString(value);
          if (unstorable) {
            throw ApiError.badRequest(`line ${line}: ${unstorable.field}: ${unstorable.reason}`, {
              line,
              field: unstorable.field,
            });
          }
          yield [line, value];
        }
      } catch (error) {
        if ((error as Error).message !== 'maximum buffer reached') throw error;
        throw ApiError.badRequest(`line ${line + 1}: longer than ${maxLine} characters (BODY_LIMIT_BYTES)`, {
          line: line + 1,
          limit: maxLine,
        });
      }
    }
    return this.run(project, annotator, lines(), 'line');
  }

  private async run(
    project: ProjectRecord,
    annotator: string,
    source: Iterable<[number, unknown]> | AsyncIterable<[number, unknown]>,
    unit: 'item' | 'line',
  ): Promise<ImportResult> {
    const schema = itemSchemas[project.inputKind];
    const labels = new Set(project.labels);
    const seen = new Map<string, number>();
    const session = await this.items.startImport(project.id, annotator);
    const result: ImportResult = { received: 0, created: 0, existing: 0 };
    let batch: PreparedItem[] = [];
    let positions: number[] = [];
    let inFlight: Promise<number> | null = null;
    const flush = async (ready: PreparedItem[], at: number[]) => {
      if (inFlight) result.created += await inFlight;
      inFlight = this.writeBatch(session, project, ready, (index) => `${unit} ${at[index]}`);
      // Surface a failure at the next await instead of as an unhandled rejection.
      inFlight.catch(() => undefined);
    };
    try {
      for await (const [position, raw] of source) {
        const parsed = schema.safeParse(raw);
        const where = `${unit} ${position}`;
        if (!parsed.success) {
          const problems = zodProblems(parsed.error);
          throw ApiError.badRequest(describeProblems(where, problems), { [unit]: position, problems });
        }
        const input = parsed.data as ItemInput;
        if (input.label !== undefined && !labels.has(input.label)) {
          throw ApiError.badRequest(
            `${where}: label ${JSON.stringify(input.label)} is not in the project's label set: ${project.labels.join(', ')}`,
            { [unit]: position, field: 'label', allowed: project.labels },
          );
        }
        if (input.label === undefined && (input.annotator !== undefined || input.labeledAt !== undefined)) {
          throw ApiError.badRequest(`${where}: annotator and labeledAt describe a label; give a label too`, {
            [unit]: position,
            field: input.annotator !== undefined ? 'annotator' : 'labeledAt',
          });
        }
        result.received++;
        const first = seen.get(input.externalId);
        if (first !== undefined) {
          // Which of two contents to keep is the client's call: a duplicate in one request is refused.
          throw ApiError.badRequest(
            `${where}: externalId ${JSON.stringify(input.externalId)} already appears at ${unit} ${first} of this request`,
            { [unit]: position, field: 'externalId', first },
          );
        }
        seen.set(input.externalId, position);
        batch.push(prepareItem(input));
        positions.push(position);
        if (batch.length >= BATCH_SIZE) {
          await flush(batch, positions);
          batch = [];
          positions = [];
        }
      }
      await flush(batch, positions);
      if (inFlight) result.created += await inFlight;
      await session.fillColdStartQueue(this.config.tasks.coldStartQueueSize);
      await session.commit();
    } catch (error) {
      await session.rollback();
      throw error;
    }
    result.existing = result.received - result.created;
    // With a promoted model the new items are scored at once and join the ranked queue.
    if (result.created > 0) this.scoring.requestNew(project.id, 'import');
    if (result.created >= ANALYZE_AFTER_ROWS) {
      // Not awaited: the caller need not wait for statistics, and a failure only delays better plans.
      this.items
        .refreshStatistics()
        .catch((error: Error) => this.logger.warn({ err: error }, 'ANALYZE failed'));
    }
    return result;
  }

  private async writeBatch(
    session: ItemImportSession,
    project: ProjectRecord,
    batch: PreparedItem[],
    where: (index: number) => string,
  ) {
    await this.checkImages(batch, where);
    await this.uploadImages(project.id, batch);
    const rows: NewItemRow[] = batch.map((item) => ({
      id: uuidv7(),
      externalId: item.externalId,
      payloadJson: item.payloadJson,
      objectKey: item.bytes ? imageObjectKey(project.id, item.contentHash) : null,
      contentHash: item.contentHash,
      split: assignSplit(project.seed, item.externalId, project.holdoutFraction),
      metadataJson: item.metadataJson,
      label: item.label,
      annotator: item.annotator,
      labeledAt: item.labeledAt,
      coldPriority: coldStartPriority(project.seed, item.externalId),
    }));
    return session.insertBatch(rows);
  }

  /**
   * Image bytes must decode (their headers were checked by the schema): a corrupt PNG stored now would fail
   * every training and scoring later. Decoding runs in the compute pool's inference worker, not here.
   */
  private async checkImages(batch: PreparedItem[], where: (index: number) => string): Promise<void> {
    const images = batch.flatMap((item, index) => (item.bytes ? [{ index, bytes: item.bytes }] : []));
    if (images.length === 0) return;
    const problems = await this.compute.checkImages(images.map((image) => image.bytes));
    const bad = problems.findIndex((problem) => problem !== null);
    if (bad >= 0) {
      const at = where(images[bad].index);
      throw ApiError.badRequest(`${at}: imageBase64: ${problems[bad]}`, { field: 'imageBase64', at });
    }
  }

  /** Objects are content-addressed, so an upload for a request that later fails is harmless. */
  private async uploadImages(projectId: string, batch: PreparedItem[]): Promise<void> {
    const images = batch.filter((item) => item.bytes !== null);
    for (let start = 0; start < images.length; start += UPLOAD_CONCURRENCY) {
      await Promise.all(
        images
          .slice(start, start + UPLOAD_CONCURRENCY)
          .map((item) => this.store.put(imageObjectKey(projectId, item.contentHash), item.bytes as Buffer)),
      );
    }
  }
}
