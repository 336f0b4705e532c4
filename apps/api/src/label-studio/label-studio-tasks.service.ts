import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { LabelStudioItemsRepository, type LabelStudioItem, type ProjectRecord } from '@labelloop/db';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ItemsImportService } from '../items/items-import.service';
import { fetchTaskImage, ImageFetchError, type LabelStudioHost } from './image-fetcher';
import { externalIdForTask, type LabelStudioTask, taskValue } from './task-mapping';

/** A task as an item: the item, and for images its bytes. Or why the task could not become one. */
export type TaskItem = { item: LabelStudioItem; bytes?: Uint8Array } | { error: string };

/** Image downloads in flight at once for one request. */
const FETCH_CONCURRENCY = 8;
/** The longest text an item may hold (the item import's limit). */
const MAX_TEXT_LENGTH = 1_000_000;

/**
 * Turns Label Studio tasks into labelloop items: tasks seen before are looked up by their task id; unseen
 * ones are imported through the regular item import (text from `data[<key>]`, images downloaded from the
 * task's URL and stored like any imported image). Each task that cannot become an item gets its own error.
 */
@Injectable()
export class LabelStudioTasksService {
  constructor(
    private readonly items: LabelStudioItemsRepository,
    private readonly importer: ItemsImportService,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async itemsFor(
    project: ProjectRecord,
    tasks: readonly LabelStudioTask[],
    dataKey: string,
    host: LabelStudioHost,
    importedBy: string,
    withBytes: boolean,
    options: {
      /** Known labels of the tasks (by index), recorded with source `import` when the item is new. */
      labels?: readonly (string | null)[];
      /** When any task cannot become an item, import none: the outcomes then hold only the failed tasks. */
      allOrNothing?: boolean;
    } = {},
  ): Promise<TaskItem[]> {
    const labels = options.labels ?? [];
    const externalIds = tasks.map((task) => externalIdForTask(task.id));
    const known = new Map(
      (await this.items.byExternalIds(project.id, externalIds)).map((i) => [i.externalId, i]),
    );
    const outcomes: TaskItem[] = new Array(tasks.length);
    const fetched = new Map<number, Uint8Array>();
    const toImport: Record<string, unknown>[] = [];
    const unseen = tasks
      .map((task, index) => ({ task, index }))
      .filter(({ index }) => !known.has(externalIds[index]));
    await forEachLimited(unseen, FETCH_CONCURRENCY, async ({ task, index }) => {
      try {
        const input = await this.itemInput(project, task, dataKey, host);
        if (input.bytes) fetched.set(index, input.bytes);
        toImport.push({
          ...input.item,
          externalId: externalIds[index],
          metadata: { labelStudio: { taskId: task.id } },
          ...(labels[index] ? { label: labels[index] } : {}),
        });
      } catch (error) {
        if (!(error instanceof TaskInputError || error instanceof ImageFetchError)) throw error;
        outcomes[index] = { error: `task ${task.id}: ${error.message}` };
      }
    });
    if (options.allOrNothing && outcomes.some(Boolean)) return outcomes;
    if (toImport.length > 0) {
      await this.importer.importArray(project, importedBy, toImport);
      for (const item of await this.items.byExternalIds(
        project.id,
        toImport.map((i) => i.externalId as string),
      )) {
        known.set(item.externalId, item);
      }
    }
    for (let index = 0; index < tasks.length; index++) {
      if (outcomes[index]) continue;
      const item = known.get(externalIds[index]);
      if (!item) {
        outcomes[index] = { error: `task ${tasks[index].id}: the item could not be created` };
        continue;
      }
      let bytes = fetched.get(index);
      if (!bytes && withBytes && item.objectKey) bytes = new Uint8Array(await this.store.get(item.objectKey));
      outcomes[index] = bytes ? { item, bytes } : { item };
    }
    return outcomes;
  }

  private async itemInput(
    project: ProjectRecord,
    task: LabelStudioTask,
    dataKey: string,
    host: LabelStudioHost,
  ): Promise<{ item: Record<string, unknown>; bytes?: Uint8Array }> {
    const value = taskValue(task, dataKey);
    if (value === undefined || value === null) throw new TaskInputError(`data.${dataKey} is missing`);
    if (project.inputKind === 'image') {
      const bytes = await fetchTaskImage(value, host, this.config.labelStudio.imageOrigins);
      return { item: { imageBase64: Buffer.from(bytes).toString('base64') }, bytes };
    }
    const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
    if (text === null || text.trim() === '')
      throw new TaskInputError(`data.${dataKey} is not a non-empty text`);
    if (text.length > MAX_TEXT_LENGTH) {
      throw new TaskInputError(`data.${dataKey} is longer than ${MAX_TEXT_LENGTH} characters`);
    }
    return { item: { text } };
  }
}

/** A task whose data does not give the input the label config names. */
export class TaskInputError extends Error {}

async function forEachLimited<T>(list: readonly T[], limit: number, work: (entry: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, list.length) }, async () => {
    while (next < list.length) await work(list[next++]);
  });
  await Promise.all(runners);
}
