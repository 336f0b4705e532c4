import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import {
  DatasetVersionsRepository,
  type DatasetVersionRecord,
  type ExportedLabel,
  type InputKind,
  type ProjectRecord,
} from '@labelloop/db';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';

export type ExportFormat = 'jsonl' | 'csv';

// Rows per keyset batch: big enough that the per-query cost vanishes, small enough that a
// batch (and the one fetched ahead) stays a few hundred kilobytes whatever the project's size.
const BATCH_ROWS = 2_000;
// JSONL goes out in chunks of a few lines, so no chunk holds a whole batch: 16 lines when they carry
// images (fetched together, up to 16 image files in memory at once), else 256.
const IMAGE_LINES_PER_CHUNK = 16;
const LINES_PER_CHUNK = 256;

/** The CSV column that holds each kind's input: the text, the feature JSON, the image's key or pixel JSON. */
const CSV_INPUT_COLUMN: Record<InputKind, string> = { text: 'text', tabular: 'features', image: 'image' };

/**
 * Streams a version's labeled items in keyset batches by item id: a batch is formatted while
 * the next one is read, and a batch is read only when the client has taken the previous one,
 * so memory stays flat however many rows a version has. JSONL lines are item imports
 * (`POST /v1/projects/:id/items` as NDJSON) carrying label, annotator and time.
 */
@Injectable()
export class VersionExportService {
  constructor(
    private readonly versions: DatasetVersionsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  stream(project: ProjectRecord, version: DatasetVersionRecord, format: ExportFormat): Readable {
    return Readable.from(this.chunks(project, version, format), { objectMode: false });
  }

  private async *chunks(
    project: ProjectRecord,
    version: DatasetVersionRecord,
    format: ExportFormat,
  ): AsyncGenerator<Buffer> {
    if (format === 'csv') {
      yield Buffer.from(
        stringify([
          ['externalId', 'split', 'label', 'annotator', 'labeledAt', CSV_INPUT_COLUMN[project.inputKind]],
        ]),
      );
    }
    const read = (after: string | null) => {
      const batch = this.versions.exportBatch(project.id, version, after, BATCH_ROWS);
      // Awaited on the next turn; this only keeps an early failure from being reported as unhandled.
      batch.catch(() => undefined);
      return batch;
    };
    let next = read(null);
    for (;;) {
      const rows = await next;
      if (rows.length === 0) return;
      next = rows.length < BATCH_ROWS ? Promise.resolve([]) : read(rows[rows.length - 1].id);
      if (format === 'csv') yield Buffer.from(csvRows(rows));
      else yield* this.jsonLines(rows);
    }
  }

  private async *jsonLines(rows: ExportedLabel[]): AsyncGenerator<Buffer> {
    const perChunk = rows.some((row) => row.objectKey !== null) ? IMAGE_LINES_PER_CHUNK : LINES_PER_CHUNK;
    for (let start = 0; start < rows.length; start += perChunk) {
      yield Buffer.from(await this.jsonChunk(rows.slice(start, start + perChunk)));
    }
  }

  private async jsonChunk(rows: ExportedLabel[]): Promise<string> {
    const images = await this.imagesOf(rows);
    let text = '';
    for (const row of rows) {
      const input = row.objectKey ? { imageBase64: images.get(row.id) } : (row.payload as object);
      const metadata = Object.keys(row.metadata ?? {}).length > 0 ? { metadata: row.metadata } : {};
      text += `${JSON.stringify({
        externalId: row.externalId,
        ...input,
        ...metadata,
        label: row.label,
        annotator: row.annotator,
        labeledAt: row.labeledAt.toISOString(),
      })}\n`;
    }
    return text;
  }

  /** Stored image bytes of a chunk's rows as base64 by item id, fetched together. */
  private async imagesOf(rows: ExportedLabel[]): Promise<Map<string, string>> {
    const images = new Map<string, string>();
    await Promise.all(
      rows
        .filter((row) => row.objectKey !== null)
        .map(async (row) => {
          images.set(row.id, (await this.store.get(row.objectKey as string)).toString('base64'));
        }),
    );
    return images;
  }
}

function csvRows(rows: ExportedLabel[]): string {
  return stringify(
    rows.map((row) => [
      row.externalId,
      row.split,
      row.label,
      row.annotator,
      row.labeledAt.toISOString(),
      csvInput(row),
    ]),
  );
}

function csvInput(row: ExportedLabel): string {
  if (row.objectKey) return row.objectKey;
  const payload = row.payload as { text?: string; features?: unknown };
  if (typeof payload.text === 'string') return payload.text;
  return JSON.stringify(payload.features ?? payload);
}
