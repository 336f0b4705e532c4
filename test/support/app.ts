import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { loadConfig, type AppConfig } from '@labelloop/config';
import { createLogger } from '@labelloop/observability';
import { startLocalS3, type LocalS3 } from '../../libs/storage/src/testing/s3rver';
import { ApiKeyService } from '../../apps/api/src/auth/api-key.service';
import { createHttpApp } from '../../apps/api/src/http-app';
import { RootModule } from '../../apps/server/src/root.module';
import { createTestDatabase, type TestDatabase } from './database';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestApp {
  baseUrl: string;
  app: NestFastifyApplication;
  db: TestDatabase;
  s3: LocalS3;
  config: AppConfig;
  /** fetch against the app with the admin key unless another key (or null for none) is given. */
  call(
    method: string,
    path: string,
    body?: unknown,
    key?: string | null,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

export interface TestAppOptions {
  /** The database URL the service connects with, given the test database's (e.g. through a proxy). */
  serviceDatabaseUrl?: (url: string) => string;
}

/**
 * The real service in this process: its own PostgreSQL database, the local Redis
 * with its own key prefix, and an s3rver for objects. Listens on a free port.
 */
export async function startTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const db = await createTestDatabase();
  const s3 = await startLocalS3();
  const config = loadConfig({
    LABELLOOP_ROLE: 'api',
    DATABASE_URL: options.serviceDatabaseUrl?.(db.url) ?? db.url,
    DATABASE_POOL_SIZE: '10',
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `{labelloop-test-${randomBytes(4).toString('hex')}}`,
    STORAGE_DRIVER: 's3',
    S3_ENDPOINT: s3.endpointUrl,
    S3_ACCESS_KEY: 'S3RVER',
    S3_SECRET_KEY: 'S3RVER',
    S3_BUCKET: 'labelloop-test',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'error',
    ...env,
  });
  const logger = createLogger(config.logLevel);
  const app = await createHttpApp(RootModule.forRole(config, logger), config, logger);
  await app.listen(0, '127.0.0.1');
  if (config.role === 'api' || config.role === 'all') await app.get(ApiKeyService).bootstrapAdmin();
  const address = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    baseUrl,
    app,
    db,
    s3,
    config,
    call: async (method, path, body, key = ADMIN_KEY, headers = {}) => {
      const init: RequestInit = { method, headers: { ...headers } };
      const h = init.headers as Record<string, string>;
      if (key !== null) h.authorization = `Bearer ${key}`;
      if (body !== undefined) {
        if (typeof body === 'string') init.body = body;
        else {
          init.body = JSON.stringify(body);
          h['content-type'] ??= 'application/json';
        }
      }
      const response = await fetch(baseUrl + path, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (metrics, docs)
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    close: async () => {
      await app.close();
      await s3.dispose();
      await db.drop();
    },
  };
}

/** Creates a project and returns its id. */
export async function createProject(app: TestApp, overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await app.call('POST', '/v1/projects', {
    name: 'test project',
    inputKind: 'text',
    labels: ['spam', 'ham'],
    holdoutFraction: 0,
    ...overrides,
  });
  if (response.status !== 201) throw new Error(`project create failed: ${JSON.stringify(response.body)}`);
  return response.body.id;
}

/** Creates an API key and returns the secret. */
export async function createKey(
  app: TestApp,
  role: string,
  projectId: string | null = null,
  name = role,
): Promise<string> {
  const response = await app.call('POST', '/v1/api-keys', { name, role, projectId });
  if (response.status !== 201) throw new Error(`key create failed: ${JSON.stringify(response.body)}`);
  return response.body.key;
}

export function textItems(count: number, prefix = 'item'): { externalId: string; text: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    externalId: `${prefix}-${i}`,
    text: `text number ${i} of ${prefix}`,
  }));
}
