import type {
  DatasetVersionsRepository,
  LabeledItem,
  LabeledSample,
  ProjectRecord,
  VersionCut,
} from '@labelloop/db';
import type { ObjectStore } from '@labelloop/storage';
import { type ModelInput, modelInput, storedBytes } from './model-input';
import { buildTrainingSet, type Split, splitLabeled, type TrainingSet } from './training-set';

export interface LabeledRow {
  item: LabeledItem;
  input: ModelInput;
}

/**
 * A project's labels in a dataset version, as model inputs split into train (pool) and holdout. With
 * `samples`, each side is a seeded sample of at most that many items (a side without one is whole). Throws
 * TrainingRefused like buildTrainingSet.
 */
export async function loadLabeledSet(
  datasets: DatasetVersionsRepository,
  store: ObjectStore,
  project: ProjectRecord,
  version: VersionCut,
  samples: { pool?: LabeledSample; holdout?: LabeledSample } = {},
): Promise<TrainingSet<LabeledRow>> {
  const items =
    samples.pool || samples.holdout
      ? [
          ...(await datasets.labeledItems(project.id, version, 'pool', samples.pool)),
          ...(await datasets.labeledItems(project.id, version, 'holdout', samples.holdout)),
        ]
      : await datasets.labeledItems(project.id, version);
  return buildTrainingSet(project.labels, items, await rowsOf(store, project, items));
}

/** Labeled items as rows with their model inputs (image bytes read from the object store here). */
async function rowsOf(
  store: ObjectStore,
  project: ProjectRecord,
  items: readonly LabeledItem[],
): Promise<(item: LabeledItem) => LabeledRow> {
  const bytes = await storedBytes(store, items);
  return (item) => ({ item, input: modelInput(project.inputKind, item.payload, bytes.get(item.id)) });
}

/**
 * A version's labeled pool items in pages of at most `pageSize`, as model inputs (labels not in the project's
 * label set left out, like loadLabeledSet). For label sets too large to hold at once on the event loop: a
 * project with 200,000 labels is hundreds of MB of row objects, whose garbage collection pauses the loop.
 */
export async function* labeledPoolPages(
  datasets: DatasetVersionsRepository,
  store: ObjectStore,
  project: ProjectRecord,
  version: VersionCut,
  pageSize: number,
): AsyncGenerator<Split<LabeledRow>> {
  for (let after: string | null = null; ;) {
    const items = await datasets.labeledItemsPage(project.id, version, 'pool', after, pageSize);
    if (items.length === 0) return;
    after = items[items.length - 1].id;
    yield splitLabeled(project.labels, items, await rowsOf(store, project, items)).train;
  }
}

/** The same split with the model inputs only. */
export function inputsOf(split: Split<LabeledRow>): Split<ModelInput> {
  return { inputs: split.inputs.map((row) => row.input), labels: split.labels };
}
