import { z } from 'zod';
import { configSchema } from './config.schema';

export type Role = 'api' | 'trainer' | 'scorer' | 'all';

export interface S3Settings {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

export interface AppConfig {
  role: Role;
  /** bodyIdleTimeoutMs: a request body that stops arriving this long mid-way (a stalled upload) is cut off. */
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    bodyIdleTimeoutMs: number;
    logRequests: boolean;
  };
  /**
   * statementTimeoutMs: the server cancels a statement running longer (0: never);
   * idleInTransactionTimeoutMs: the server ends a session idle inside a transaction this long (a client that
   * stalls mid-import), releasing its locks; connectTimeoutMs: a query that waits longer for a connection (the
   * database is unreachable, or every pooled one is busy) fails, answered 503.
   */
  database: {
    url: string | undefined;
    poolSize: number;
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
    connectTimeoutMs: number;
  };
  embeddedDataDir: string;
  /** jobLockSeconds: a worker's lock on a running job; a job whose worker died is taken up again after it. */
  redis: { url: string | undefined; queuePrefix: string; jobLockSeconds: number };
  storage: { driver: 'fs'; root: string } | { driver: 's3'; s3: S3Settings };
  auth: { adminApiKey: string | undefined; keyCacheSeconds: number };
  tasks: { leaseSeconds: number; nextMax: number; coldStartQueueSize: number };
  /**
   * A ranking pass after a promotion scores at most this many unlabeled pool items (those without a prediction
   * first, then a seeded random sample), so its time is bounded whatever the pool's size; 0 scores the whole pool.
   */
  scoring: { sampleItems: number };
  imports: { maxJsonItems: number; maxNdjsonItems: number };
  /** Largest model bundle upload (POST /v1/projects/:id/models/import), also its unpacked size bound. */
  models: { bundleMaxBytes: number };
  shutdownDelayMs: number;
  logLevel: string;
  mlBackend: string;
  /**
   * Where TensorFlow.js runs: worker threads or child processes (`auto`: processes when a native tfjs-node
   * package is installed, else threads), at this niceness, so HTTP and job locks keep their event loop.
   */
  compute: { workers: 'auto' | 'thread' | 'process'; nice: number };
  /** Origins (besides the /setup hostname's) whose absolute image URLs Label Studio tasks may point at. */
  labelStudio: { imageOrigins: string[] };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const got = name in present ? ` (got ${JSON.stringify(present[name])})` : '';
        return `${name}: ${issue.message}${got}`;
      }),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  let storage: AppConfig['storage'] = { driver: 'fs', root: e.STORAGE_FS_ROOT };
  if (e.STORAGE_DRIVER === 's3') {
    for (const name of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const) {
      if (!e[name]) problems.push(`${name}: required when STORAGE_DRIVER=s3`);
    }
    storage = {
      driver: 's3',
      s3: {
        endpoint: e.S3_ENDPOINT ?? '',
        accessKey: e.S3_ACCESS_KEY ?? '',
        secretKey: e.S3_SECRET_KEY ?? '',
        bucket: e.S3_BUCKET,
        region: e.S3_REGION,
      },
    };
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    role: e.LABELLOOP_ROLE,
    http: {
      host: e.HOST,
      port: e.PORT,
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      bodyIdleTimeoutMs: e.HTTP_BODY_IDLE_TIMEOUT_MS,
      logRequests: e.LOG_REQUESTS,
    },
    database: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    },
    embeddedDataDir: e.EMBEDDED_DATA_DIR,
    redis: { url: e.REDIS_URL, queuePrefix: e.QUEUE_PREFIX, jobLockSeconds: e.JOB_LOCK_SECONDS },
    storage,
    auth: { adminApiKey: e.ADMIN_API_KEY, keyCacheSeconds: e.API_KEY_CACHE_SECONDS },
    tasks: {
      leaseSeconds: e.LEASE_SECONDS,
      nextMax: e.TASKS_NEXT_MAX,
      coldStartQueueSize: e.COLD_START_QUEUE_SIZE,
    },
    scoring: { sampleItems: e.SCORING_SAMPLE_ITEMS },
    imports: { maxJsonItems: e.IMPORT_MAX_JSON_ITEMS, maxNdjsonItems: e.IMPORT_MAX_NDJSON_ITEMS },
    models: { bundleMaxBytes: e.MODEL_BUNDLE_MAX_BYTES },
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    logLevel: e.LOG_LEVEL,
    mlBackend: e.ML_BACKEND,
    compute: { workers: e.ML_WORKERS, nice: e.ML_WORKER_NICE },
    labelStudio: { imageOrigins: e.LABEL_STUDIO_IMAGE_ORIGINS },
  };
}

export const configVariableNames = Object.keys(configSchema.shape) as (keyof z.infer<typeof configSchema>)[];
