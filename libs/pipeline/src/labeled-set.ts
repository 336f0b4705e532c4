import type {
  DatasetVersionsRepository,
  LabeledItem,
  LabeledSample,
  ProjectRecord,
  VersionCut,
} from '@labelloop/db';
import type { ObjectStore } from '@labelloop/storage';
import { type ModelInput, modelInput, storedBytes } from './model-input';
import { buildTrainingSet, type Split, type TrainingSet } from './training-set';

export interface LabeledRow {
  item: LabeledItem;
  input: ModelInput;
}

/**
 * A project's labels in a dataset version, as model inputs split into train (pool) and holdout. Shared by
 * training and label-issue detection so both see the same items the same way. With `poolSample`, the pool
 * side is a seeded sample of at most that many items (the holdout is always whole). Throws TrainingRefused
 * like buildTrainingSet.
 */
export async function loadLabeledSet(
  datasets: DatasetVersionsRepository,
  store: ObjectStore,
  project: ProjectRecord,
  version: VersionCut,
  poolSample?: LabeledSample,
): Promise<TrainingSet<LabeledRow>> {
  const items = poolSample
    ? [
        ...(await datasets.labeledItems(project.id, version, 'pool', poolSample)),
        ...(await datasets.labeledItems(project.id, version, 'holdout')),
      ]
    : await datasets.labeledItems(project.id, version);
  const bytes = await storedBytes(store, items);
  return buildTrainingSet(project.labels, items, (item) => ({
    item,
    input: modelInput(project.inputKind, item.payload, bytes.get(item.id)),
  }));
}

/** The same split with the model inputs only. */
export function inputsOf(split: Split<LabeledRow>): Split<ModelInput> {
  return { inputs: split.inputs.map((row) => row.input), labels: split.labels };
}
