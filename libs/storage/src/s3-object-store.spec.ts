import { Client } from 'minio';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

import { StorageUnavailableError } from './errors';
import { s3OptionsFromUrl } from './factory';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
import { collect, describeObjectStoreContract } from './testing/object-store.contract';
import { startLocalS3, type LocalS3 } from './testing/s3rver';

const CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', pathStyle: true };

let s3: LocalS3;
let counter = 0;
const bucketName = (): string => `test-${process.pid}-${++counter}`;

function storeAt(endpointUrl: string, extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({
    ...s3OptionsFromUrl(endpointUrl, { ...CREDENTIALS, bucket: bucketName() }),
    partSize: 5 * 1024 * 1024, // the contract's stream test then crosses a part boundary (multipart upload)
    listPageSize: 7, // the contract's ~30-key listings then span several pages
    maxRetries: 0, // fail fast instead of retrying s3rver's sporadic 500s (and printing warnings)
    ...extra,
  });
}

/** A port that nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  s3 = await startLocalS3();
});

afterAll(async () => {
  await s3?.dispose();
});

describeObjectStoreContract('s3 (s3rver)', {
  create: async () => storeAt(s3.endpointUrl),
  createUnavailable: async () => {
    const stopped = await startLocalS3();
    await stopped.stop();
    await stopped.dispose();
    return {
      store: storeAt(stopped.endpointUrl),
      message: new RegExp(
        `S3 storage at http://127\\.0\\.0\\.1:${stopped.port} \\(bucket "[^"]+"\\) is unreachable.*ECONNREFUSED`,
      ),
    };
  },
});

describe('S3ObjectStore specifics', () => {
  it('check() fails clearly against a port nothing listens on', async () => {
    const port = await freePort();
    const store = storeAt(`http://127.0.0.1:${port}`);
    await expect(store.check()).rejects.toThrow(
      new RegExp(
        `^S3 storage at http://127\\.0\\.0\\.1:${port} \\(bucket "test-\\d+-\\d+"\\) is unreachable.*ECONNREFUSED`,
      ),
    );
  });

  it('check() times out against a server that accepts connections but never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const store = storeAt(`http://127.0.0.1:${port}`, { checkTimeoutMs: 300 });
      const started = Date.now();
      const err = await store.check().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect((err as Error).message).toMatch(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('check() names a missing bucket', async () => {
    const store = storeAt(s3.endpointUrl);
    await expect(store.check()).rejects.toThrow(/bucket "test-\d+-\d+"\): the bucket does not exist/);
  });

  it('ensureReady() creates the bucket, and stores the content type', async () => {
    const store = storeAt(s3.endpointUrl);
    const client = new Client({ endPoint: '127.0.0.1', port: s3.port, useSSL: false, ...CREDENTIALS });
    expect(await client.bucketExists(store.bucket)).toBe(false);
    await store.ensureReady();
    expect(await client.bucketExists(store.bucket)).toBe(true);
    await store.put('img/a.png', Buffer.from('png'), { contentType: 'image/png' });
    const st = await client.statObject(store.bucket, 'img/a.png');
    expect(st.metaData['content-type']).toBe('image/png');
    expect(await store.stat('img/a.png')).toEqual({ size: 3, etag: st.etag });
  });

  it('aborts the multipart upload when a large body fails or has the wrong size', async () => {
    const abort = jest.spyOn(Client.prototype, 'abortMultipartUpload');
    try {
      const store = storeAt(s3.endpointUrl);
      await store.ensureReady();
      const part = randomBytes(5 * 1024 * 1024);
      async function* failing(): AsyncGenerator<Buffer> {
        yield part;
        yield part;
        throw new Error('disk gone');
      }
      await expect(store.put('mp/fail', Readable.from(failing()))).rejects.toThrow('disk gone');
      expect(abort).toHaveBeenCalledTimes(1);
      expect(abort).toHaveBeenLastCalledWith(store.bucket, 'mp/fail', expect.any(String));
      await expect(store.put('mp/size', Readable.from([part, part]), { size: 3 })).rejects.toThrow(
        /expected 3 bytes/,
      );
      expect(abort).toHaveBeenCalledTimes(2);
      expect(await collect(store.list(''))).toEqual([]);
    } finally {
      abort.mockRestore();
    }
  });

  it('pages through listings larger than one page (page size 1)', async () => {
    const store = storeAt(s3.endpointUrl, { listPageSize: 1 });
    await store.ensureReady();
    const keys = ['k/a', 'k/b', 'k/c', 'k/d', 'l/e'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    expect((await collect(store.list('k/'))).map((e) => e.key)).toEqual(keys.slice(0, 4));
    await store.removePrefix('k/');
    expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['l/e']);
  });
});
