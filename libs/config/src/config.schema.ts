import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/**
 * Every environment variable the service reads. `.env.example` and the README's
 * configuration table list the same names; a unit test keeps them in step.
 */
export const configSchema = z.object({
  LABELLOOP_ROLE: z.enum(['api', 'trainer', 'scorer', 'all']).default('all'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(3000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  DATABASE_POOL_SIZE: positiveInt.default(20),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(300_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.default(10_000),
  EMBEDDED_DATA_DIR: z.string().min(1).default('.data'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  QUEUE_PREFIX: z.string().min(1).default('{labelloop}'),
  STORAGE_DRIVER: z.enum(['fs', 's3']).default('fs'),
  STORAGE_FS_ROOT: z.string().min(1).default('.data/objects'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  S3_BUCKET: z.string().min(3).default('labelloop'),
  S3_REGION: z.string().min(1).default('us-east-1'),
  ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).default(30),
  LEASE_SECONDS: positiveInt.default(600),
  HTTP_BODY_IDLE_TIMEOUT_MS: positiveInt.default(30_000),
  BODY_LIMIT_BYTES: positiveInt.default(10 * 1024 * 1024),
  MODEL_BUNDLE_MAX_BYTES: positiveInt.default(256 * 1024 * 1024),
  IMPORT_MAX_JSON_ITEMS: positiveInt.default(10_000),
  IMPORT_MAX_NDJSON_ITEMS: positiveInt.default(1_000_000),
  TASKS_NEXT_MAX: positiveInt.default(100),
  COLD_START_QUEUE_SIZE: positiveInt.default(1000),
  SCORING_SAMPLE_ITEMS: z.coerce.number().int().min(0).default(10_000),
  JOB_LOCK_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(300_000).default(5_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_REQUESTS: bool.default(false),
  LABEL_STUDIO_IMAGE_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins: string[] = [];
      for (const entry of value.split(',').map((part) => part.trim())) {
        if (entry === '') continue;
        let url: URL | null = null;
        try {
          url = new URL(entry);
        } catch {
          // reported below
        }
        if (
          !url ||
          (url.protocol !== 'http:' && url.protocol !== 'https:') ||
          url.origin !== entry.replace(/\/$/, '')
        ) {
          ctx.addIssue({
            code: 'custom',
            message: `${entry} is not an http(s) origin like https://files.example.com`,
          });
          continue;
        }
        origins.push(url.origin);
      }
      return origins;
    }),
  ML_BACKEND: z
    .enum(['auto', 'tensorflow', 'tensorflow-gpu', 'tensorflow-cpu', 'webgpu', 'wasm', 'cpu'])
    .default('auto'),
  ML_WORKERS: z.enum(['auto', 'thread', 'process']).default('auto'),
  ML_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
});

export type EnvConfig = z.infer<typeof configSchema>;
