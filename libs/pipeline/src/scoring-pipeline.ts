import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import {
  ModelsRepository,
  type ModelVersionRecord,
  type PoolItem,
  PredictionsRepository,
  type ProjectRecord,
  ProjectsRepository,
  type RankedTask,
  TasksRepository,
} from '@labelloop/db';
import { type AcquisitionSpec, acquisitionSpec, randomScore } from '@labelloop/ml';
import { LOGGER, Metrics } from '@labelloop/observability';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { ComputePool } from './compute/compute-pool';
import type { ModelRef } from './compute/messages';
import { type ModelInput, storedInputs } from './model-input';
import { type Candidate, predictedClassRows, TopCandidates, topClass } from './ranking';
import { StopSetStep } from './stop-set-step';

/** Pool items read, scored and written per batch: bounds memory whatever the pool's size. */
export const PAGE_SIZE = 500;

/** The acquisition settings a project stores (see the API's acquisitionSpec schema). */
interface StoredAcquisition {
  strategy?: AcquisitionSpec['strategy'];
  diversity?: boolean;
  classBalanced?: boolean;
  batchSize?: number;
}

/** What one scoring pass works with: the project, its promoted model and its acquisition settings. */
export interface ScoringContext {
  project: ProjectRecord;
  model: ModelVersionRecord & { artifactKey: string };
  spec: AcquisitionSpec;
  /** Open tasks the ranking keeps (at least the project's batch size). */
  queueSize: number;
  /** Candidates kept while streaming: more than the queue when the batch is chosen among them. */
  candidates: number;
}

export interface ScoringTimings {
  loadMs: number;
  scoreMs: number;
  chooseMs: number;
  rewriteMs: number;
}

export interface ScoringResult {
  /** The model that scored (the promoted one when the job ran); null when the project had none. */
  modelVersionId: string | null;
  scored: number;
  queued: number;
  removed: number;
  /**
   * Milliseconds per stage: finding the model, scoring the pool (read, featurize, predict, write), choosing the
   * batch (diversity, class balance), rewriting the queue.
   */
  timings: ScoringTimings;
}

const NOTHING: ScoringResult = {
  modelVersionId: null,
  scored: 0,
  queued: 0,
  removed: 0,
  timings: { loadMs: 0, scoreMs: 0, chooseMs: 0, rewriteMs: 0 },
};

/** A chosen candidate as a queue task: its acquisition score is the priority, the model's guess the pre-label. */
function rankedTask(candidate: Candidate): RankedTask {
  return {
    itemId: candidate.itemId,
    priority: candidate.score,
    preLabel: candidate.label,
    preLabelProb: candidate.probability,
  };
}

/**
 * A promise awaited later, after other awaits: a rejection meanwhile must not count as unhandled (which would
 * end the process); awaiting it still throws.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Ranking the unlabeled pool with the promoted model, as named steps: `streamScores` (pages of the pool
 * scored in the inference worker, predictions written, best candidates kept), `chooseBatch` (the queue
 * picked among them: diversity and class balance, also in the worker) and `rewriteQueue`. `rescore` runs
 * all three over the pool (at most SCORING_SAMPLE_ITEMS of it) after a promotion; `scoreNew` scores only items that have no prediction
 * yet (imported after the model) and lets them join the ranked queue without a full rescore.
 */
@Injectable()
export class ScoringPipeline {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly compute: ComputePool,
    private readonly projects: ProjectsRepository,
    private readonly models: ModelsRepository,
    private readonly predictions: PredictionsRepository,
    private readonly tasks: TasksRepository,
    private readonly metrics: Metrics,
    private readonly stopSet: StopSetStep,
  ) {}

  /**
   * The project's promoted model and acquisition settings; null without a promoted model. A job folded into
   * a waiting one (deduplication) names an older model: the promoted one is the truth.
   */
  async context(projectId: string): Promise<ScoringContext | null> {
    const project = await this.projects.findById(projectId);
    if (!project) return null;
    const model = await this.models.promoted(projectId);
    if (!model?.artifactKey) return null;
    const stored = project.acquisitionSpec as StoredAcquisition;
    const spec = acquisitionSpec({
      strategy: stored.strategy,
      diversity: stored.diversity,
      classBalanced: stored.classBalanced,
      seed: project.seed,
    });
    const queueSize = Math.max(stored.batchSize ?? 0, this.config.tasks.coldStartQueueSize);
    // Diversity and class balance choose among more candidates than the queue holds. `random` takes the top of
    // its seeded order as it is (see streamScores).
    const widen = spec.strategy !== 'random' && (spec.diversity || spec.classBalanced);
    const candidates = widen ? Math.ceil(queueSize * spec.candidateMultiplier) : queueSize;
    return { project, model: { ...model, artifactKey: model.artifactKey }, spec, queueSize, candidates };
  }

  /** Scores the unlabeled pool (a bounded sample of it, see `pageReader`) and rewrites the open queue to the new ranking. */
  rescore(projectId: string, onPage: (scored: number) => void): Promise<ScoringResult> {
    return this.pass(projectId, 'all', onPage, (_context, chosen) =>
      this.tasks.rewriteQueue(projectId, chosen),
    );
  }

  /**
   * Scores the unlabeled pool items that have no prediction yet (imported after the promoted model ranked
   * the pool) and adds the best of them to the open queue, which keeps its size: the lowest-ranked open
   * tasks make room. Costs the new items only, not a rescore.
   */
  scoreNew(projectId: string, onPage: (scored: number) => void): Promise<ScoringResult> {
    return this.pass(projectId, 'unscored', onPage, (context, chosen) =>
      this.tasks.joinQueue(projectId, chosen, context.queueSize),
    );
  }

  /** One scoring pass: stream scores, choose the batch, then write it to the queue with `write`. */
  private async pass(
    projectId: string,
    which: 'all' | 'unscored',
    onPage: (scored: number) => void,
    write: (context: ScoringContext, chosen: RankedTask[]) => Promise<{ removed: number; written: number }>,
  ): Promise<ScoringResult> {
    const started = performance.now();
    const context = await this.context(projectId);
    if (!context) return NOTHING;
    const loaded = performance.now();
    const { scored, best, labels } = await this.streamScores(context, which, onPage);
    // Nothing new to score: the queue is left as it is.
    if (scored === 0 && which === 'unscored') return { ...NOTHING, modelVersionId: context.model.id };
    const choosing = performance.now();
    const chosen = await this.chooseBatch(context, best, labels);
    const writing = performance.now();
    const { removed, written } = await write(context, chosen);
    const timings = {
      loadMs: Math.round(loaded - started),
      scoreMs: Math.round(choosing - loaded),
      chooseMs: Math.round(writing - choosing),
      rewriteMs: Math.round(performance.now() - writing),
    };
    // After the queue is served: the new model's predictions on the stop set, for the stopping signal.
    if (which === 'all') await this.stopSet.record(context);
    const log = {
      component: 'scorer',
      projectId,
      model: context.model.number,
      scored,
      queued: written,
      removed,
    };
    this.logger.info({ ...log, ...timings }, which === 'all' ? 'pool scored' : 'new items scored');
    return { modelVersionId: context.model.id, scored, queued: written, removed, timings };
  }

  /**
   * Streams the pass's items in pages: the unlabeled pool (`all`: a bounded sample of it, see `pageReader`)
   * or its items without a prediction (`unscored`). Each page is scored in the inference worker, its
   * predictions written, its candidates kept. PostgreSQL works meanwhile: the next page is read and the
   * previous one's predictions written while a page scores.
   */
  async streamScores(
    context: ScoringContext,
    which: 'all' | 'unscored',
    onPage: (scored: number) => void,
  ): Promise<{ scored: number; best: Candidate[]; labels: string[] }> {
    const { project, model, spec } = context;
    const ref: ModelRef = { id: model.id, artifactKey: model.artifactKey };
    const candidates = new TopCandidates(context.candidates);
    const nextPage = await this.pageReader(context, which);
    let scored = 0;
    let next = quiet(nextPage());
    let writing: Promise<void> = Promise.resolve();
    let labels: string[] = [];
    for (;;) {
      const page = await next;
      if (page === null) break;
      next = quiet(nextPage());
      if (page.length === 0) continue;
      const scoredPage = await this.compute.score(ref, {
        inputs: await storedInputs(this.store, project.inputKind, page),
        spec,
      });
      const { probabilities, scores } = scoredPage;
      labels = scoredPage.labels;
      const numClasses = labels.length;
      // An unreadable item (rows leaves it out) gets no prediction and never makes the queue.
      const rows = scoredPage.rows.map((index, r) => {
        const item = page[index];
        const top = topClass(probabilities, r, numClasses);
        const candidate: Candidate = {
          itemId: item.id,
          // `random` ranks by a seeded hash of the item (the project's seed): a uniform sample of the pool
          // whatever its import order, and the same one from pass to pass.
          score: spec.strategy === 'random' ? randomScore(spec.seed, item.id) : scores[r],
          label: labels[top.index],
          probability: top.probability,
        };
        candidates.add(candidate);
        return {
          itemId: item.id,
          label: candidate.label,
          probability: candidate.probability,
          probabilities: probabilities.subarray(r * numClasses, (r + 1) * numClasses),
          uncertainty: candidate.score,
        };
      });
      await writing;
      writing = quiet(this.predictions.upsert(project.id, model.id, numClasses, rows));
      scored += page.length;
      this.metrics.itemsScoredTotal.inc({ project: project.id }, page.length);
      onPage(scored);
    }
    await writing;
    return { scored, best: candidates.best(), labels };
  }

  /**
   * A function returning the pass's next page (null after the last). `unscored`, and `all` with
   * SCORING_SAMPLE_ITEMS 0, page through the pool by id. Otherwise `all` scores a bounded sample: the items
   * without a prediction, then a random sample of the rest (seeded by the project's seed and the model, so
   * each model draws anew), SCORING_SAMPLE_ITEMS in all. A ranking pass then takes seconds whatever the
   * pool's size, so labels reach a ranked queue soon after they reach a model; items left out keep their
   * previous prediction until a later pass draws them.
   */
  private async pageReader(
    context: ScoringContext,
    which: 'all' | 'unscored',
  ): Promise<() => Promise<PoolItem[] | null>> {
    const projectId = context.project.id;
    const limit = this.config.scoring.sampleItems;
    if (which === 'all' && limit > 0) {
      const seed = context.project.seed * 1_000_003 + context.model.number;
      const ids = await this.predictions.poolSample(projectId, seed, limit);
      let offset = 0;
      return async () => {
        if (offset >= ids.length) return null;
        const chunk = ids.slice(offset, (offset += PAGE_SIZE));
        // Items labeled since the sample was drawn drop out of their page.
        return this.predictions.unlabeledItems(projectId, chunk);
      };
    }
    let after: string | null = null;
    return async () => {
      const page =
        which === 'all'
          ? await this.predictions.unlabeledPoolPage(projectId, after, PAGE_SIZE)
          : await this.predictions.unscoredPoolPage(projectId, after, PAGE_SIZE);
      if (page.length === 0) return null;
      after = page[page.length - 1].id;
      return page;
    };
  }

  /**
   * The queue among the best candidates: the top ones, or a diverse / class-balanced batch chosen in the
   * inference worker (diversity embeds the candidates again rather than keeping the whole pool's embeddings).
   * Items labeled meanwhile drop out. For `random` the best candidates are the batch: they are the top of the
   * seeded order, which a diverse or balanced choice (or selectBatch's own random draw) would only reshuffle.
   */
  async chooseBatch(context: ScoringContext, best: Candidate[], labels: string[]): Promise<RankedTask[]> {
    const { project, model, spec, queueSize } = context;
    if (spec.strategy === 'random') return best.slice(0, queueSize).map(rankedTask);
    let candidates = best;
    let inputs: ModelInput[] | null = null;
    if (spec.diversity && best.length > queueSize) {
      const items = await this.predictions.unlabeledItems(
        project.id,
        best.map((c) => c.itemId),
      );
      const byId = new Map(best.map((c) => [c.itemId, c]));
      candidates = items.map((item) => byId.get(item.id)!);
      inputs = await storedInputs(this.store, project.inputKind, items);
    }
    const chosen = await this.compute.choose(model, {
      inputs,
      scores: Float32Array.from(candidates.map((c) => c.score)),
      probabilities: spec.classBalanced ? predictedClassRows(candidates, labels) : null,
      batchSize: queueSize,
      spec,
    });
    return chosen.map((i) => rankedTask(candidates[i]));
  }
}
