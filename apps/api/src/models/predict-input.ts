import { z } from 'zod';
import type { InputKind } from '@labelloop/db';
import { type ModelInput, modelInput } from '@labelloop/pipeline';
import { ApiError, type FieldProblem } from '../common/api-error';
import { describeProblems, zodProblems } from '../common/zod';
import { type ItemInput, itemSchemas, prepareItem } from '../items/item-input';

/** Inputs per predict call. */
export const PREDICT_MAX_INPUTS = 1000;

export const predictBody = z.strictObject({
  inputs: z
    .array(z.record(z.string(), z.unknown()))
    .min(1)
    .max(PREDICT_MAX_INPUTS, `at most ${PREDICT_MAX_INPUTS} inputs per call`),
});

/** Item fields that name or label an item: meaningless for an ad-hoc input. */
const ITEM_ONLY_FIELDS = ['externalId', 'label', 'metadata'];

/**
 * Ad-hoc inputs, in the shape of item imports without externalId (`{text}`, `{features}`,
 * `{pixels, width?, height?}` or `{imageBase64}`), as featurizer inputs. Each is validated by the item
 * schema of the project's input kind and converted the way an imported item reaches the trainer and
 * scorer (prepareItem, then modelInput), so a model sees the same features for the same content.
 * A 400 names every bad input by its index.
 */
export function predictInputs(kind: InputKind, inputs: Record<string, unknown>[]): ModelInput[] {
  const problems: FieldProblem[] = [];
  const parsed = inputs.map((input, index) => {
    const named = ITEM_ONLY_FIELDS.filter((field) => field in input);
    if (named.length > 0) {
      problems.push(
        ...named.map((field) => ({ field: `inputs.${index}.${field}`, reason: 'not allowed here' })),
      );
      return null;
    }
    // The item schema wants an external id; a placeholder makes it judge the content alone.
    const result = itemSchemas[kind].safeParse({ ...input, externalId: 'predict' });
    if (!result.success) {
      problems.push(
        ...zodProblems(result.error).map((p) => ({ field: `inputs.${index}.${p.field}`, reason: p.reason })),
      );
      return null;
    }
    return result.data as ItemInput;
  });
  if (problems.length > 0) throw ApiError.badRequest(describeProblems('invalid body', problems), problems);
  return parsed.map((input, index) => {
    const item = prepareItem(input!);
    try {
      return modelInput(
        kind,
        item.payloadJson === null ? null : JSON.parse(item.payloadJson),
        item.bytes ?? undefined,
      );
    } catch (error) {
      const field = `inputs.${index}`;
      const reason = (error as Error).message;
      throw ApiError.badRequest(describeProblems('invalid body', [{ field, reason }]), [{ field, reason }]);
    }
  });
}
