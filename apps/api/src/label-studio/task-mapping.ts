import type { ModelVersionRecord } from '@labelloop/db';

// How Label Studio's vocabulary maps onto labelloop's: tasks are items, a <Choices> region is a label,
// a model version is a version string.

/** A task as Label Studio sends it; only `id` and `data` are relied on (the other columns vary by version). */
export interface LabelStudioTask {
  id: number;
  data: Record<string, unknown>;
}

/** The part of a parsed label config that predictions and annotations are mapped with. */
export interface ChoicesTarget {
  fromName: string;
  toName: string;
  dataKey: string;
}

/** The version string of a model for Label Studio; before any model, a fixed cold-start version. */
export const COLD_START_VERSION = 'labelloop-cold-start';

export function modelVersionName(model: Pick<ModelVersionRecord, 'number'> | null): string {
  return model ? `labelloop-v${model.number}` : COLD_START_VERSION;
}

/** Items imported from Label Studio are keyed by the task id, so every route finds the same item. */
export function externalIdForTask(taskId: number | string): string {
  return `ls-task-${taskId}`;
}

/** The LS task id an item came from, or null for items that did not come from Label Studio. */
export function taskIdOfExternalId(externalId: string): number | null {
  const match = /^ls-task-(\d+)$/.exec(externalId);
  return match ? Number(match[1]) : null;
}

/** Tasks imported with one unnamed value carry it under this key (LS's DATA_UNDEFINED_NAME). */
const UNDEFINED_DATA_KEY = '$undefined$';

export function taskValue(task: LabelStudioTask, dataKey: string): unknown {
  return task.data[dataKey] ?? task.data[UNDEFINED_DATA_KEY];
}

/** A `<Choices>` region as Label Studio's editor and prediction validation expect it. */
export function choiceRegion(target: ChoicesTarget, label: string) {
  return {
    from_name: target.fromName,
    to_name: target.toName,
    type: 'choices',
    value: { choices: [label] },
  };
}

/**
 * The label an LS annotation result gives: the first choice of the `<Choices>` region of the control
 * (`fromName`), or of any choices region when the control is not known yet. Null when there is none.
 */
export function choiceOf(result: unknown, fromName: string | null): string | null {
  if (!Array.isArray(result)) return null;
  for (const region of result as { from_name?: unknown; type?: unknown; value?: { choices?: unknown } }[]) {
    if (String(region?.type).toLowerCase() !== 'choices') continue;
    if (fromName !== null && region.from_name !== fromName) continue;
    const choices = region.value?.choices;
    if (Array.isArray(choices) && typeof choices[0] === 'string') return choices[0];
  }
  return null;
}
