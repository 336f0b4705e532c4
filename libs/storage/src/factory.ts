import { FilesystemObjectStore } from './fs-object-store';
import type { ObjectStore } from './object-store';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';

export type ObjectStoreOptions = { driver: 's3'; s3: S3ObjectStoreOptions } | { driver: 'fs'; root: string };

export function createObjectStore(options: ObjectStoreOptions): ObjectStore {
  switch (options.driver) {
    case 's3':
      return new S3ObjectStore(options.s3);
    case 'fs':
      return new FilesystemObjectStore({ root: options.root });
    default: {
      const driver: unknown = (options as { driver?: unknown }).driver;
      throw new Error(`Unknown storage driver ${JSON.stringify(driver)} (expected 'fs' or 's3')`);
    }
  }
}

/**
 * Turns an endpoint URL such as S3_ENDPOINT=http://127.0.0.1:9000 into the client's endPoint/port/useSSL
 * and merges the rest (credentials, bucket, region...). Only http(s) URLs without path, query or
 * credentials are accepted; the port defaults to 80/443.
 */
export function s3OptionsFromUrl(
  endpointUrl: string,
  rest: Omit<S3ObjectStoreOptions, 'endPoint' | 'port' | 'useSSL'>,
): S3ObjectStoreOptions {
  let url: URL;
  try {
    url = new URL(endpointUrl);
  } catch {
    throw new Error(
      `S3 endpoint ${JSON.stringify(endpointUrl)} is not a URL (expected e.g. http://127.0.0.1:9000)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`S3 endpoint ${JSON.stringify(endpointUrl)} must use http:// or https://`);
  }
  if (url.username || url.password) {
    throw new Error('S3 endpoint must not contain credentials; set S3_ACCESS_KEY / S3_SECRET_KEY instead');
  }
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw new Error(`S3 endpoint ${JSON.stringify(endpointUrl)} must not have a path, query or fragment`);
  }
  const useSSL = url.protocol === 'https:';
  const endPoint = url.hostname.replace(/^\[(.*)\]$/, '$1'); // IPv6 literal without brackets
  return { ...rest, endPoint, port: url.port ? Number(url.port) : useSSL ? 443 : 80, useSSL };
}
