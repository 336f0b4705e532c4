import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { type Job, UnrecoverableError } from 'bullmq';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import {
  type ModelVersionRecord,
  type PoolItem,
  PredictionsRepository,
  ProjectsRepository,
  ModelsRepository,
  type RankedTask,
  TasksRepository,
} from '@labelloop/db';
import {
  type AcquisitionSpec,
  acquisitionSpec,
  artifactFromFiles,
  type FeatureMatrix,
  type ModelArtifact,
  scoreRows,
  selectBatch,
} from '@labelloop/ml';
import { LOGGER, Metrics } from '@labelloop/observability';
import {
  JobQueues,
  QUEUE_NAMES,
  QueueWorkers,
  SCORING_JOB,
  type ScoringJobData,
  type ScoringProgress,
  SUSPECTS_JOB,
  type SuspectsJobData,
  suspectsJobOptions,
} from '@labelloop/queue';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import type { Logger } from 'pino';
import { readArtifactFiles } from '../../trainer/src/artifact-store';
import { modelInput, storedBytes } from '../../trainer/src/model-input';
import { BoundedCache, type Candidate, predictedClassRows, TopCandidates, topClass } from './ranking';
import { MlBackend } from '../../trainer/src/ml-backend';

/** Pool items read, scored and written per batch: bounds the scorer's memory whatever the pool's size. */
const PAGE_SIZE = 500;
/** Loaded models kept per process (a project's promoted model is usually scored again soon). */
const MODEL_CACHE_SIZE = 4;

export interface ScoringResult {
  /** The model that scored (the promoted one when the job ran); null when the project had none. */
  modelVersionId: string | null;
  scored: number;
  queued: number;
  removed: number;
  /** Milliseconds per stage: loading the model, scoring the pool (read, featurize, predict, write), rewriting the queue. */
  timings: { loadMs: number; scoreMs: number; rewriteMs: number };
}

/**
 * A promise awaited later, after other awaits: a rejection meanwhile must not count as unhandled (which would
 * end the process); awaiting it still throws.
 */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The acquisition settings a project stores (see the API's acquisitionSpec schema). */
interface StoredAcquisition {
  strategy?: AcquisitionSpec['strategy'];
  diversity?: boolean;
  classBalanced?: boolean;
  batchSize?: number;
}

/**
 * The `scoring` queue's `score` job: rank the project's unlabeled pool with its promoted model. Streams the
 * pool in id-ordered pages, writes every item's prediction, keeps the best candidates by acquisition score,
 * picks the queue among them (diversity by the library's batch selection) and rewrites the open tasks to
 * that ranking with the model's guess as pre-label. Then it asks for the model's suspects refresh.
 */
@Injectable()
export class ScoringProcessor implements OnModuleInit, OnModuleDestroy {
  private readonly artifacts = new BoundedCache<string, ModelArtifact>(MODEL_CACHE_SIZE, (artifact) =>
    artifact.model.dispose(),
  );

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly workers: QueueWorkers,
    private readonly queues: JobQueues,
    private readonly mlBackend: MlBackend,
    private readonly projects: ProjectsRepository,
    private readonly models: ModelsRepository,
    private readonly predictions: PredictionsRepository,
    private readonly tasks: TasksRepository,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.workers.register<ScoringJobData>(QUEUE_NAMES.scoring, SCORING_JOB, (job) => this.process(job));
  }

  onModuleDestroy(): void {
    this.artifacts.clear();
  }

  async process(job: Job<ScoringJobData>): Promise<ScoringResult> {
    const { projectId } = job.data;
    const project = await this.projects.findById(projectId);
    if (!project) throw new UnrecoverableError(`project ${projectId} does not exist`);
    // A job folded into a waiting one (deduplication) names an older model: the promoted one is the truth.
    const promoted = await this.models.promoted(projectId);
    if (!promoted?.artifactKey) {
      return {
        modelVersionId: null,
        scored: 0,
        queued: 0,
        removed: 0,
        timings: { loadMs: 0, scoreMs: 0, rewriteMs: 0 },
      };
    }
    const started = performance.now();
    const { model, featurizer, manifest } = await this.artifact(promoted);
    const loaded = performance.now();
    const stored = project.acquisitionSpec as StoredAcquisition;
    const spec = acquisitionSpec({
      strategy: stored.strategy,
      diversity: stored.diversity,
      classBalanced: stored.classBalanced,
      seed: project.seed,
    });
    const queueSize = Math.max(stored.batchSize ?? 0, this.config.tasks.coldStartQueueSize);
    const needsEmbeddings = spec.diversity && spec.strategy !== 'random';
    // Diversity, class balance and random sampling choose among more candidates than the queue holds.
    const widen = spec.diversity || spec.classBalanced || spec.strategy === 'random';
    const candidates = new TopCandidates(widen ? Math.ceil(queueSize * spec.candidateMultiplier) : queueSize);
    const numClasses = manifest.labels.length;
    const kind = project.inputKind;
    const featuresOf = async (items: PoolItem[]) => {
      const bytes = await storedBytes(this.store, items);
      return featurizer.transform(items.map((item) => modelInput(kind, item.payload, bytes.get(item.id))));
    };

    // PostgreSQL works on another core: the next page is read and the previous one's predictions written
    // while this page is featurized and scored (one read and one write in flight at most).
    const pageAfter = (after: string | null) =>
      quiet(this.predictions.unlabeledPoolPage(projectId, after, PAGE_SIZE));
    let scored = 0;
    let next = pageAfter(null);
    let writing: Promise<void> = Promise.resolve();
    for (;;) {
      const page = await next;
      if (page.length === 0) break;
      next = pageAfter(page[page.length - 1].id);
      const { probabilities, scores } = scoreRows(model, await featuresOf(page), spec, { embeddings: false });
      const rows = page.map((item, r) => {
        const top = topClass(probabilities, r, numClasses);
        const candidate: Candidate = {
          itemId: item.id,
          score: scores[r],
          label: manifest.labels[top.index],
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
      writing = quiet(this.predictions.upsert(projectId, promoted.id, numClasses, rows));
      scored += page.length;
      this.metrics.itemsScoredTotal.inc({ project: projectId }, page.length);
      const progress: ScoringProgress = { scored };
      await job.updateProgress(progress).catch(() => undefined);
    }
    await writing;

    let best = candidates.best();
    let embeddings: FeatureMatrix | undefined;
    if (needsEmbeddings && best.length > queueSize) {
      // Diversity needs the candidates' embeddings: computed again for those few rows rather than kept for
      // the whole pool while it streams. Items labeled meanwhile drop out here.
      const items = await this.predictions.unlabeledItems(
        projectId,
        best.map((c) => c.itemId),
      );
      const byId = new Map(best.map((c) => [c.itemId, c]));
      best = items.map((item) => byId.get(item.id)!);
      embeddings = scoreRows(model, await featuresOf(items), spec).embeddings;
    }
    const scores = Float32Array.from(best.map((c) => c.score));
    const probabilities = spec.classBalanced ? predictedClassRows(best, manifest.labels) : undefined;
    const chosen = selectBatch({ scores, embeddings, probabilities, batchSize: queueSize, spec }).map(
      (i) => best[i],
    );
    const ranked: RankedTask[] = chosen.map((c) => ({
      itemId: c.itemId,
      priority: c.score,
      preLabel: c.label,
      preLabelProb: c.probability,
    }));
    const rewriting = performance.now();
    const { removed, written } = await this.tasks.rewriteQueue(projectId, ranked);
    const timings = {
      loadMs: Math.round(loaded - started),
      scoreMs: Math.round(rewriting - loaded),
      rewriteMs: Math.round(performance.now() - rewriting),
    };
    // The label-error k-fold of this model comes after the queue is served, never competing with it.
    const suspects: SuspectsJobData = { projectId, modelVersionId: promoted.id };
    await this.queues.suspects.add(SUSPECTS_JOB, suspects, suspectsJobOptions(projectId));
    this.logger.info(
      {
        component: 'scorer',
        projectId,
        model: promoted.number,
        scored,
        queued: written,
        removed,
        ...timings,
      },
      'pool scored',
    );
    return { modelVersionId: promoted.id, scored, queued: written, removed, timings };
  }

  /** The model of a version, from the cache or the object store. */
  private async artifact(version: ModelVersionRecord): Promise<ModelArtifact> {
    const cached = this.artifacts.get(version.id);
    if (cached) return cached;
    await this.mlBackend.ready();
    const artifact = artifactFromFiles(await readArtifactFiles(this.store, version.artifactKey!));
    this.artifacts.set(version.id, artifact);
    return artifact;
  }
}
