import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, configVariableNames, loadConfig } from './config';

const root = join(__dirname, '..', '..', '..');

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.role).toBe('all');
    expect(config.http.port).toBe(3000);
    expect(config.storage).toEqual({ driver: 'fs', root: '.data/objects' });
    expect(config.tasks).toEqual({ leaseSeconds: 600, nextMax: 100, coldStartQueueSize: 1000 });
    expect(config.database.url).toBeUndefined();
  });

  it('names every bad variable and the value it got', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        LABELLOOP_ROLE: 'worker',
        DATABASE_URL: 'mysql://x/y',
        ADMIN_API_KEY: 'short',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: .*\(got "eighty"\)/m);
    expect(problems).toMatch(/^LABELLOOP_ROLE: .*\(got "worker"\)/m);
    expect(problems).toMatch(/^DATABASE_URL: /m);
    expect(problems).toMatch(/^ADMIN_API_KEY: must be at least 16 characters/m);
  });

  it('requires the S3 settings only when the S3 driver is chosen', () => {
    expect(() => loadConfig({ STORAGE_DRIVER: 's3' })).toThrow(
      /S3_ENDPOINT: required when STORAGE_DRIVER=s3/,
    );
    const config = loadConfig({
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: 'http://minio:9000',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'b',
    });
    expect(config.storage).toMatchObject({
      driver: 's3',
      s3: { endpoint: 'http://minio:9000', bucket: 'labelloop' },
    });
  });

  it('treats empty strings as unset, as .env files write them', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).http.port).toBe(3000);
  });

  it('is documented variable by variable in .env.example and the README', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const name of configVariableNames) {
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
      expect(readme).toContain(`\`${name}\``);
    }
  });
});
