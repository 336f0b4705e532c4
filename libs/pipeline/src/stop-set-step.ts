import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { StopSetRepository } from '@labelloop/db';
import { LOGGER } from '@labelloop/observability';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ComputePool } from './compute/compute-pool';
import { storedInputs } from './model-input';
import { topClass } from './ranking';
import type { ScoringContext } from './scoring-pipeline';

/** Unlabeled pool items in a project's stop set, at most (all of them in a smaller pool). */
export const STOP_SET_SIZE = 1000;

/** Stop-set items featurized and predicted per batch. */
const BATCH = 500;

/**
 * One step of a ranking pass: the promoted model predicts the project's stop set (a fixed, seeded sample of
 * the unlabeled pool, chosen at the project's first pass) and its predicted classes are kept, so successive
 * models can be compared on the same items (the stopping signal of the learning curve). The stop set is
 * predicted on its own, not taken from the pass's scores, because a pass scores only a sample of the pool.
 */
@Injectable()
export class StopSetStep {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly compute: ComputePool,
    private readonly stopSet: StopSetRepository,
  ) {}

  /**
   * Records the model's predictions on the stop set, once per model. A failure is logged, never the pass's:
   * the queue it serves matters more than the signal.
   */
  async record(context: ScoringContext): Promise<void> {
    const { project, model } = context;
    try {
      if (await this.stopSet.recorded(model.id)) return;
      const items = await this.stopSet.ensure(project.id, project.seed, STOP_SET_SIZE);
      // A plain single pass (margin) whatever the project's strategy: MC-dropout passes would make a model
      // disagree with itself.
      const spec = { ...context.spec, strategy: 'margin' as const };
      for (let start = 0; start < items.length; start += BATCH) {
        const batch = items.slice(start, start + BATCH);
        const inputs = await storedInputs(this.store, project.inputKind, batch);
        const scored = await this.compute.score(model, { inputs, spec });
        const numClasses = scored.labels.length;
        await this.stopSet.record(
          model.id,
          scored.rows.map((index, r) => ({
            itemId: batch[index].id,
            label: scored.labels[topClass(scored.probabilities, r, numClasses).index],
          })),
        );
      }
    } catch (error) {
      this.logger.warn(
        { component: 'scorer', projectId: project.id, model: model.number, err: (error as Error).message },
        'stop set not predicted',
      );
    }
  }
}
