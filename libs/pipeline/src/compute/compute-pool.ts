import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import workerpool from 'workerpool';
import type { Logger } from 'pino';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import type { BackendReport, Metrics } from '@labelloop/ml';
import { LOGGER } from '@labelloop/observability';
import { OBJECT_STORE, type ObjectStore } from '@labelloop/storage';
import { readArtifactFiles } from '../artifact-store';
import type { ModelInput } from '../model-input';
import {
  type ChooseRequest,
  COMPUTE_ERRORS,
  type ComputeMethods,
  type EpochProgress,
  type EvaluateRequest,
  type FitRequest,
  type FitResult,
  type FoldProgress,
  type LabeledInputs,
  type LabelRanking,
  type ModelRef,
  type OutOfSampleRequest,
  type PredictResponse,
  type ScoreRequest,
  type ScoreResponse,
} from './messages';

/**
 * Three lanes of one worker each: `training` (fits, seconds to minutes), `inference` (scoring pages,
 * predictions, bundle checks, milliseconds to seconds), so a prediction never waits behind a fit, and
 * `background` (the suspects k-fold, several fits long), so a retraining never waits behind a k-fold.
 */
export type ComputeLane = 'training' | 'inference' | 'background';

/**
 * Niceness the background lane adds to ML_WORKER_NICE: when a k-fold and a fit or a scoring run at once, the
 * fit and the scoring, which the labeling queue waits for, get most of the CPU left over.
 */
export const BACKGROUND_EXTRA_NICE = 5;

/** The niceness of a lane's worker (at most 19, the lowest priority). */
export function laneNice(lane: ComputeLane, nice: number): number {
  return lane === 'background' ? Math.min(19, nice + BACKGROUND_EXTRA_NICE) : nice;
}

export type WorkerKind = 'thread' | 'process';

/** The native TensorFlow.js packages; a native addon is safest in a process of its own. */
const NATIVE_BACKENDS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** `auto`: child processes where a native tfjs backend is installed (the GPU image), else worker threads. */
export function workerKind(setting: AppConfig['compute']['workers']): WorkerKind {
  if (setting !== 'auto') return setting;
  for (const name of NATIVE_BACKENDS) {
    try {
      require.resolve(name);
      return 'process';
    } catch {
      // not installed
    }
  }
  return 'thread';
}

/**
 * The worker script and the Node flags it needs: the compiled JavaScript next to this file, or, when this
 * file runs as TypeScript (tests, benchmarks), the TypeScript source loaded through @swc-node/register.
 */
export function workerScript(): { path: string; execArgv: string[] } {
  const compiled = join(__dirname, 'compute-worker.js');
  if (existsSync(compiled)) return { path: compiled, execArgv: [] };
  return { path: join(__dirname, 'compute-worker.ts'), execArgv: ['-r', '@swc-node/register'] };
}

type Call = { on?: (payload: unknown) => void };

/**
 * The event loop's door to model compute. Every fit, k-fold, scoring page, prediction and bundle check runs
 * in a worker (thread or child process, ML_WORKERS) at a lower CPU priority (ML_WORKER_NICE), so /health,
 * HTTP requests and BullMQ lock renewals never wait for TensorFlow.js. Workers start on first use and keep
 * their backend and model cache; one that crashes is replaced on the next call.
 */
@Injectable()
export class ComputePool implements OnApplicationShutdown {
  private readonly lanes = new Map<ComputeLane, workerpool.Pool>();
  private closed = false;
  readonly kind: WorkerKind;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {
    this.kind = workerKind(config.compute.workers);
  }

  /**
   * After the queue workers have closed (they wait for their running job, whose compute finishes here) and
   * the HTTP server has drained: nothing can ask for compute any more.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.lanes.values()].map((pool) => pool.terminate(true)));
    this.lanes.clear();
  }

  /** The backend the inference worker resolved (what predictions and scoring run on). */
  backend(lane: ComputeLane = 'inference'): Promise<BackendReport> {
    return this.call(lane, 'backend', []);
  }

  fit(request: FitRequest, onEpoch?: (progress: EpochProgress) => void): Promise<FitResult> {
    return this.call('training', 'fit', [request], { on: onEpoch as Call['on'] });
  }

  /** Sends a page of k-fold rows ahead to the background worker (ComputeMethods.stageRows). */
  stageRows(rowsId: string, page: LabeledInputs): Promise<number> {
    return this.call('background', 'stageRows', [rowsId, page]);
  }

  outOfSample(request: OutOfSampleRequest, onFold?: (progress: FoldProgress) => void): Promise<LabelRanking> {
    return this.call('background', 'outOfSample', [request], { on: onFold as Call['on'] });
  }

  score(model: ModelRef, request: ScoreRequest): Promise<ScoreResponse> {
    return this.withModel(model, 'score', [model.id, request]);
  }

  choose(model: ModelRef, request: ChooseRequest): Promise<number[]> {
    return this.withModel(model, 'choose', [model.id, request]);
  }

  predict(model: ModelRef, inputs: ModelInput[]): Promise<PredictResponse> {
    return this.withModel(model, 'predict', [model.id, inputs]);
  }

  evaluate(request: EvaluateRequest): Promise<Metrics | null> {
    return this.call('inference', 'evaluate', [request]);
  }

  /** Decodes each image in the inference worker: null when it is readable, else why not. */
  checkImages(images: Uint8Array[]): Promise<(string | null)[]> {
    return this.call('inference', 'checkImages', [images]);
  }

  /** Calls a method that needs a loaded model; on a miss the artifact is read here and handed over once. */
  private async withModel<M extends 'score' | 'choose' | 'predict'>(
    model: ModelRef,
    method: M,
    args: Parameters<ComputeMethods[M]>,
  ): Promise<Awaited<ReturnType<ComputeMethods[M]>>> {
    try {
      return await this.call('inference', method, args);
    } catch (error) {
      if ((error as { code?: string }).code !== COMPUTE_ERRORS.modelNotLoaded) throw error;
    }
    const files = await readArtifactFiles(this.store, model.artifactKey);
    await this.call('inference', 'loadModel', [model.id, files]);
    return this.call('inference', method, args);
  }

  private async call<M extends keyof ComputeMethods>(
    lane: ComputeLane,
    method: M,
    args: Parameters<ComputeMethods[M]>,
    options: Call = {},
  ): Promise<Awaited<ReturnType<ComputeMethods[M]>>> {
    const exec = options.on ? { on: options.on } : undefined;
    return (await this.pool(lane).exec(method, args, exec)) as Awaited<ReturnType<ComputeMethods[M]>>;
  }

  private pool(lane: ComputeLane): workerpool.Pool {
    if (this.closed) throw new Error('the compute pool is shut down');
    let pool = this.lanes.get(lane);
    if (pool) return pool;
    const script = workerScript();
    const env = {
      ...process.env,
      LABELLOOP_COMPUTE_BACKEND: this.config.mlBackend === 'auto' ? '' : this.config.mlBackend,
      LABELLOOP_COMPUTE_NICE: String(laneNice(lane, this.config.compute.nice)),
    };
    pool = workerpool.pool(script.path, {
      minWorkers: 0,
      maxWorkers: 1,
      workerType: this.kind,
      workerThreadOpts: { execArgv: script.execArgv, env },
      // V8 serialization carries typed arrays and Maps to a child process as the thread's structured clone does.
      forkOpts: { execArgv: script.execArgv, env, serialization: 'advanced' },
      workerTerminateTimeout: 5_000,
    });
    this.lanes.set(lane, pool);
    this.logger.info({ component: 'compute', lane, workers: this.kind }, 'compute worker pool created');
    return pool;
  }
}
