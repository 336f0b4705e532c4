import { createObjectStore, s3OptionsFromUrl } from './factory';
import { FilesystemObjectStore } from './fs-object-store';
import { S3ObjectStore } from './s3-object-store';
import * as api from '@labelloop/storage';

const creds = { accessKey: 'ak', secretKey: 'sk', bucket: 'labelloop' };

describe('s3OptionsFromUrl', () => {
  it('parses http URLs with a port', () => {
    expect(s3OptionsFromUrl('http://127.0.0.1:9000', { ...creds, region: 'eu-west-1' })).toEqual({
      ...creds,
      region: 'eu-west-1',
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
    });
  });

  it('defaults the port from the scheme and accepts a trailing slash', () => {
    expect(s3OptionsFromUrl('https://s3.example.com/', creds)).toMatchObject({
      endPoint: 's3.example.com',
      port: 443,
      useSSL: true,
    });
    expect(s3OptionsFromUrl('http://minio', creds)).toMatchObject({
      endPoint: 'minio',
      port: 80,
      useSSL: false,
    });
  });

  it('strips the brackets of an IPv6 literal', () => {
    expect(s3OptionsFromUrl('http://[::1]:9000', creds)).toMatchObject({ endPoint: '::1', port: 9000 });
  });

  it.each([
    ['127.0.0.1:9000', /not a URL|must use http/],
    ['', /not a URL/],
    ['ftp://host', /must use http:\/\/ or https:\/\//],
    ['http://user:pass@host:9000', /must not contain credentials/],
    ['http://host:9000/bucket', /must not have a path/],
    ['http://host:9000?x=1', /must not have a path, query or fragment/],
  ])('rejects %j', (url, message) => {
    expect(() => s3OptionsFromUrl(url, creds)).toThrow(message);
  });
});

describe('createObjectStore', () => {
  it('builds the filesystem driver', () => {
    const store = createObjectStore({ driver: 'fs', root: 'data/objects' });
    expect(store).toBeInstanceOf(FilesystemObjectStore);
  });

  it('builds the S3 driver', () => {
    const store = createObjectStore({ driver: 's3', s3: s3OptionsFromUrl('http://127.0.0.1:9000', creds) });
    expect(store).toBeInstanceOf(S3ObjectStore);
    expect((store as S3ObjectStore).endpointUrl).toBe('http://127.0.0.1:9000');
    expect((store as S3ObjectStore).bucket).toBe('labelloop');
  });

  it('rejects an unknown driver by name', () => {
    expect(() => createObjectStore({ driver: 'gcs' } as never)).toThrow(/Unknown storage driver "gcs"/);
  });

  it('rejects missing required options', () => {
    expect(() => createObjectStore({ driver: 'fs', root: '' })).toThrow(/root directory is required/);
    expect(() => createObjectStore({ driver: 's3', s3: { ...creds, bucket: '', endPoint: 'h' } })).toThrow(
      /bucket is required/,
    );
  });
});

describe('public API', () => {
  it('exports the drivers, factory, helpers and errors from the package entry point', () => {
    expect(Object.keys(api)).toEqual(
      expect.arrayContaining([
        'FS_TEMP_DIR',
        'FilesystemObjectStore',
        'InvalidKeyError',
        'MAX_KEY_BYTES',
        'ObjectNotFoundError',
        'S3ObjectStore',
        'SizeMismatchError',
        'StorageUnavailableError',
        'assertValidKey',
        'assertValidPrefix',
        'createObjectStore',
        's3OptionsFromUrl',
      ]),
    );
  });
});
