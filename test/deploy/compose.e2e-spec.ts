import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@labelloop/config';

// No Docker engine on the build machines: docker-compose.yml is parsed and its invariants checked.
const root = resolve(__dirname, '../..');

interface Service {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string; interval?: string };
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  restart?: string;
  read_only?: boolean;
  tmpfs?: string[];
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const APP_SERVICES = { api: 'api', trainer: 'trainer', scorer: 'scorer', 'trainer-gpu': 'trainer' } as const;
const DEPENDENCY_CONDITIONS = ['service_healthy', 'service_completed_successfully', 'service_started'];

/** A one-shot runs to completion (restart "no") and something waits for it to complete. */
function isOneShot(compose: Compose, name: string): boolean {
  return (
    compose.services[name].restart === 'no' &&
    Object.values(compose.services).some(
      (s) => s.depends_on?.[name]?.condition === 'service_completed_successfully',
    )
  );
}

/** Everything the issue asks of the compose file, as a list of problems (empty when it holds). */
function composeProblems(compose: Compose, dockerfileStages: string[]): string[] {
  const problems: string[] = [];
  const declaredVolumes = Object.keys(compose.volumes ?? {});
  for (const [name, service] of Object.entries(compose.services)) {
    if (!isOneShot(compose, name)) {
      const test = service.healthcheck?.test;
      if (!test || (Array.isArray(test) && !['CMD', 'CMD-SHELL'].includes(test[0])))
        problems.push(`${name}: no health check`);
    }
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      if (!compose.services[dependency]) problems.push(`${name}: depends on unknown ${dependency}`);
      else if (!DEPENDENCY_CONDITIONS.includes(condition))
        problems.push(`${name}: bad condition ${condition}`);
      else if (condition === 'service_healthy' && !compose.services[dependency].healthcheck)
        problems.push(`${name}: waits for ${dependency} to be healthy, which has no health check`);
      else if (condition === 'service_started')
        problems.push(`${name}: depends on ${dependency} merely started, not healthy or completed`);
    }
    const image = service.image ?? '';
    if (service.build) {
      if (!dockerfileStages.includes(service.build.target ?? ''))
        problems.push(`${name}: build target ${service.build.target} is not a Dockerfile stage`);
    } else if (!/^[\w./-]+:[\w.-]+$/.test(image) || image.endsWith(':latest')) {
      problems.push(`${name}: image ${image} is not pinned by tag`);
    }
    for (const volume of service.volumes ?? []) {
      const [source] = volume.split(':');
      if (!source.startsWith('.') && !source.startsWith('/') && !declaredVolumes.includes(source))
        problems.push(`${name}: volume ${source} is not declared`);
    }
  }
  for (const stateful of ['postgres', 'redis', 'minio']) {
    const named = (compose.services[stateful]?.volumes ?? []).some((v) =>
      declaredVolumes.includes(v.split(':')[0]),
    );
    if (!named) problems.push(`${stateful}: data not on a named volume`);
  }
  for (const [name, role] of Object.entries(APP_SERVICES)) {
    const service = compose.services[name];
    if (!service) {
      problems.push(`${name}: missing`);
      continue;
    }
    if (service.environment?.LABELLOOP_ROLE !== role) problems.push(`${name}: LABELLOOP_ROLE is not ${role}`);
    if (!JSON.stringify(service.healthcheck?.test ?? '').includes('/health/ready'))
      problems.push(`${name}: health check does not ask /health/ready`);
    const waits = service.depends_on ?? {};
    if (waits.migrate?.condition !== 'service_completed_successfully')
      problems.push(`${name}: starts before the migrations completed`);
    if (!service.read_only || !service.tmpfs?.includes('/tmp'))
      problems.push(`${name}: root filesystem not read-only with a /tmp tmpfs`);
  }
  return problems;
}

/** The environment a service's process sees: nulls pass a shell variable through (unset here). */
function processEnv(service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {})
      .filter(([, value]) => value !== null)
      .map(([key, value]) => [key, String(value)]),
  );
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const dockerfileStages = [
  ...readFileSync(join(root, 'Dockerfile'), 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim),
].map((m) => m[1]);
const services = compose.services;

describe('docker-compose.yml', () => {
  it('has PostgreSQL, Redis, MinIO, its bucket, the migration step, api, trainer and scorer', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'redis',
        'minio',
        'minio-bucket',
        'migrate',
        'api',
        'trainer',
        'scorer',
      ]),
    );
    expect(services.postgres.image).toBe('postgres:16');
    expect(services.redis.image).toBe('redis:7');
    expect(services.minio.image).toMatch(/^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(services['minio-bucket'].image).toMatch(/^minio\/mc:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z$/);
  });

  it('health checks, depends_on on health or completion, named volumes, pinned images, roles', () => {
    expect(composeProblems(compose, dockerfileStages)).toEqual([]);
  });

  it.each(Object.keys(services).filter((name) => !isOneShot(compose, name)))(
    'long-running service %s has a health check',
    (name) => {
      expect(services[name].healthcheck?.test).toEqual(expect.arrayContaining(['CMD']));
    },
  );

  it('only the bucket and migration steps are one-shots, and the services wait for both', () => {
    expect(Object.keys(services).filter((name) => isOneShot(compose, name))).toEqual([
      'minio-bucket',
      'migrate',
    ]);
    expect(services.migrate.command).toEqual(['node', 'dist/apps/server/src/migrate.js']);
    expect(services.migrate.depends_on?.postgres.condition).toBe('service_healthy');
    for (const name of Object.keys(APP_SERVICES)) {
      expect([name, services[name].depends_on]).toEqual([
        name,
        {
          migrate: { condition: 'service_completed_successfully' },
          redis: { condition: 'service_healthy' },
          'minio-bucket': { condition: 'service_completed_successfully' },
        },
      ]);
    }
  });

  it('every labelloop container gets a configuration the app accepts, pointing at the compose services', () => {
    const postgres = services.postgres.environment ?? {};
    const minio = services.minio.environment ?? {};
    for (const name of ['migrate', ...Object.keys(APP_SERVICES)]) {
      const env = processEnv(services[name]);
      const config = loadConfig(env);
      const db = new URL(config.database.url as string);
      expect([name, db.hostname, db.username, db.password, db.pathname]).toEqual([
        name,
        'postgres',
        postgres.POSTGRES_USER,
        postgres.POSTGRES_PASSWORD,
        `/${postgres.POSTGRES_DB}`,
      ]);
      expect([name, new URL(config.redis.url as string).hostname]).toEqual([name, 'redis']);
      expect([name, config.storage]).toEqual([
        name,
        expect.objectContaining({
          driver: 's3',
          s3: expect.objectContaining({
            endpoint: 'http://minio:9000',
            accessKey: minio.MINIO_ROOT_USER,
            secretKey: minio.MINIO_ROOT_PASSWORD,
            bucket: 'labelloop',
          }),
        }),
      ]);
    }
    // The one-shot creates the bucket the services use, with the same credentials.
    expect(services['minio-bucket'].command).toEqual([
      `mc alias set local http://minio:9000 ${minio.MINIO_ROOT_USER} ${minio.MINIO_ROOT_PASSWORD} && mc mb --ignore-existing local/labelloop`,
    ]);
  });

  it('the API is published on 3000, the GPU trainer is opt-in and reserves a GPU', () => {
    expect(services.api.ports).toEqual(['3000:3000']);
    expect(services.api.environment).toHaveProperty('ADMIN_API_KEY', null);
    const gpu = services['trainer-gpu'] as Service & { deploy: unknown };
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.build?.target).toBe('trainer-gpu');
    expect(gpu.deploy).toEqual({
      resources: { reservations: { devices: [{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }] } },
    });
    for (const name of ['api', 'trainer', 'scorer', 'migrate'])
      expect(services[name].profiles).toBeUndefined();
  });

  describe('the checks catch a broken compose file', () => {
    const broken = (edit: (c: Compose) => void): string[] => {
      const copy = structuredClone(compose);
      edit(copy);
      return composeProblems(copy, dockerfileStages);
    };

    it('a service without its health check', () => {
      expect(broken((c) => delete c.services.redis.healthcheck)).toEqual([
        'redis: no health check',
        ...['api', 'trainer', 'scorer', 'trainer-gpu'].map(
          (s) => `${s}: waits for redis to be healthy, which has no health check`,
        ),
      ]);
      expect(broken((c) => delete c.services.scorer.healthcheck)).toEqual([
        'scorer: no health check',
        'scorer: health check does not ask /health/ready',
      ]);
    });

    it('a service that starts before the migrations, a missing role, an unpinned image, an undeclared volume', () => {
      expect(broken((c) => delete c.services.api.depends_on?.migrate)).toEqual([
        'api: starts before the migrations completed',
      ]);
      expect(broken((c) => delete c.services.trainer.environment?.LABELLOOP_ROLE)).toEqual([
        'trainer: LABELLOOP_ROLE is not trainer',
      ]);
      expect(broken((c) => (c.services.redis.image = 'redis'))).toEqual([
        'redis: image redis is not pinned by tag',
      ]);
      expect(broken((c) => delete c.volumes?.['postgres-data'])).toEqual([
        'postgres: volume postgres-data is not declared',
        'postgres: data not on a named volume',
      ]);
      expect(broken((c) => (c.services.api.build = { context: '.', target: 'nope' }))).toEqual([
        'api: build target nope is not a Dockerfile stage',
      ]);
    });
  });
});
