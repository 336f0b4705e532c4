import { Client } from 'minio';
import { Readable } from 'node:stream';

import { InvalidKeyError, ObjectNotFoundError, SizeMismatchError, StorageUnavailableError } from './errors';
import { assertValidKey, assertValidPrefix } from './keys';
import type { ObjectListEntry, ObjectStat, ObjectStore, PutOptions } from './object-store';

export interface S3ObjectStoreOptions {
  /** Host name or IP, without scheme or port (see `s3OptionsFromUrl`). */
  endPoint: string;
  /** Defaults to 443 with SSL, 80 without. */
  port?: number;
  useSSL?: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Defaults to 'us-east-1' (what MinIO expects unless configured otherwise). */
  region?: string;
  /** Path-style URLs (http://host/bucket/key). Defaults to true, which MinIO and s3rver need. */
  pathStyle?: boolean;
  /** Multipart part size for stream bodies larger than one part; default 16 MiB, minimum 5 MiB (S3 rule). */
  partSize?: number;
  /** Page size for listing, 1..1000 (default 1000). Smaller values are mainly useful in tests. */
  listPageSize?: number;
  /** Client retries of requests answered with 5xx/429/408 (default 1, the client's default; 0 disables). */
  maxRetries?: number;
  /** `check()` gives up after this long (default 5000 ms); the S3 client itself has no request timeout. */
  checkTimeoutMs?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound']);

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function errText(err: unknown): string {
  const code = errCode(err);
  const message = err instanceof Error ? err.message : String(err);
  // Node's AggregateError (connect to both ::1 and 127.0.0.1) has an empty message; the code says it all.
  return code && !message.includes(code)
    ? `${code}${message ? `: ${message}` : ''}`
    : message || 'unknown error';
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Reads `stream` in blocks of exactly `size` bytes (the last one may be shorter). */
async function* blocks(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of stream) {
    let buf: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    while (pendingBytes + buf.length >= size) {
      const take = size - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield Buffer.concat(pending);
      buf = buf.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingBytes += buf.length;
    }
  }
  if (pendingBytes > 0 || pending.length > 0) yield Buffer.concat(pending);
}

/**
 * Objects in one S3 bucket through the `minio` client (MinIO, AWS S3, other S3-compatible servers).
 * Stream bodies are uploaded in a single PUT when they fit in one part, otherwise as a multipart
 * upload that is aborted on failure; memory use is bounded by `partSize`.
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  /** e.g. "http://127.0.0.1:9000", used in error messages. */
  readonly endpointUrl: string;
  private readonly client: Client;
  private readonly region: string;
  private readonly partSize: number;
  private readonly listPageSize: number;
  private readonly checkTimeoutMs: number;

  constructor(options: S3ObjectStoreOptions) {
    if (!options.endPoint) throw new Error('S3ObjectStore: endPoint is required');
    if (!options.bucket) throw new Error('S3ObjectStore: bucket is required');
    const useSSL = options.useSSL ?? false;
    const port = options.port ?? (useSSL ? 443 : 80);
    this.bucket = options.bucket;
    this.region = options.region || 'us-east-1';
    this.partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
    this.listPageSize = Math.min(Math.max(Math.trunc(options.listPageSize ?? 1000), 1), 1000);
    this.checkTimeoutMs = options.checkTimeoutMs ?? 5000;
    const host = options.endPoint.includes(':') ? `[${options.endPoint}]` : options.endPoint;
    this.endpointUrl = `${useSSL ? 'https' : 'http'}://${host}:${port}`;
    this.client = new Client({
      endPoint: options.endPoint,
      port,
      useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
      pathStyle: options.pathStyle ?? true,
      retryOptions:
        options.maxRetries === undefined
          ? undefined
          : { disableRetry: options.maxRetries <= 0, maximumRetryCount: Math.max(options.maxRetries, 0) },
    });
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    assertValidKey(key);
    const headers: Record<string, string> = {};
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
    if (Buffer.isBuffer(body)) {
      if (opts.size !== undefined && opts.size !== body.length)
        throw new SizeMismatchError(key, opts.size, body.length);
      await this.client.putObject(this.bucket, key, body, body.length, headers);
      return;
    }
    await this.putStream(key, body, headers, opts.size);
  }

  async get(key: string): Promise<Buffer> {
    return readAll(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectStat | null> {
    assertValidKey(key);
    try {
      const st = await this.client.statObject(this.bucket, key);
      return { size: st.size, etag: st.etag || undefined };
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.removeObject(this.bucket, key);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) return;
      throw err;
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix);
    if (prefix === '')
      throw new InvalidKeyError(
        prefix,
        'removePrefix needs a non-empty prefix (refusing to delete everything)',
      );
    // Collect first: deleting while paging with a continuation token is not guaranteed to be stable.
    const keys: string[] = [];
    for await (const { key } of this.list(prefix)) keys.push(key);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let results;
      try {
        results = await this.client.removeObjects(this.bucket, batch);
      } catch {
        // Multi-object delete failed as a whole (unsupported by some S3-compatible servers, or a server
        // error such as s3rver's races on concurrent deletes): fall back to one DELETE per key.
        for (const key of batch) await this.remove(key);
        continue;
      }
      const failed = results.filter((r) => r?.Error && !NOT_FOUND_CODES.has(r.Error.Code ?? ''));
      if (failed.length > 0) {
        const first = failed[0]?.Error;
        throw new Error(
          `removePrefix("${prefix}"): ${failed.length} object(s) could not be deleted, e.g. "${first?.Key}": ${first?.Code} ${first?.Message}`,
        );
      }
    }
  }

  list(prefix: string): AsyncIterable<ObjectListEntry> {
    assertValidPrefix(prefix);
    return this.listPages(prefix);
  }

  async ensureReady(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      if (errCode(err) !== 'BucketAlreadyOwnedByYou') throw err; // created concurrently: fine
    }
  }

  async check(): Promise<void> {
    const where = `S3 storage at ${this.endpointUrl} (bucket "${this.bucket}")`;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StorageUnavailableError(`${where} did not answer within ${this.checkTimeoutMs} ms`)),
        this.checkTimeoutMs,
      );
    });
    let exists: boolean;
    try {
      exists = await Promise.race([this.client.bucketExists(this.bucket), timeout]);
    } catch (err) {
      if (err instanceof StorageUnavailableError) throw err;
      throw new StorageUnavailableError(`${where} is unreachable or refused the request: ${errText(err)}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
    if (!exists)
      throw new StorageUnavailableError(`${where}: the bucket does not exist (call ensureReady())`);
  }

  private async *listPages(prefix: string): AsyncGenerator<ObjectListEntry> {
    // ListObjects (v1) paged with marker = last key returned. Without a delimiter this is exact on AWS S3
    // and MinIO, and it avoids v2 continuation tokens, which s3rver cannot produce on Node >= 17
    // (it encrypts them with DES, which OpenSSL 3 no longer enables).
    let marker = '';
    for (;;) {
      const page = await this.client.listObjectsQuery(this.bucket, prefix, marker, {
        Delimiter: '',
        MaxKeys: this.listPageSize,
      });
      let last: string | undefined;
      for (const item of page.objects) {
        if (item.name === undefined) continue;
        last = item.name;
        yield { key: item.name, size: item.size ?? 0 };
      }
      if (!page.isTruncated) return;
      if (last === undefined) throw new Error(`S3 listing of "${prefix}" is truncated but returned no keys`);
      marker = last;
    }
  }

  private async putStream(
    key: string,
    body: Readable,
    headers: Record<string, string>,
    expectedSize: number | undefined,
  ): Promise<void> {
    const parts = blocks(body, this.partSize);
    let uploadId: string | undefined;
    let total = 0;
    try {
      const first = await parts.next();
      const firstBuf = first.done ? Buffer.alloc(0) : first.value;
      total = firstBuf.length;
      const second = first.done ? first : await parts.next();
      if (second.done) {
        // Fits in one part: a plain PUT.
        if (expectedSize !== undefined && expectedSize !== total)
          throw new SizeMismatchError(key, expectedSize, total);
        await this.client.putObject(this.bucket, key, firstBuf, firstBuf.length, headers);
        return;
      }
      uploadId = await this.client.initiateNewMultipartUpload(this.bucket, key, headers);
      const etags: { part: number; etag: string }[] = [];
      const upload = async (buf: Buffer): Promise<void> => {
        const part = etags.length + 1;
        const res = await this.client.uploadPart(
          {
            bucketName: this.bucket,
            objectName: key,
            uploadID: uploadId as string,
            partNumber: part,
            headers: {},
          },
          buf,
        );
        etags.push({ part, etag: res.etag });
      };
      await upload(firstBuf);
      total += second.value.length;
      if (expectedSize !== undefined && total > expectedSize)
        throw new SizeMismatchError(key, expectedSize, total);
      await upload(second.value);
      for await (const buf of parts) {
        total += buf.length;
        if (expectedSize !== undefined && total > expectedSize)
          throw new SizeMismatchError(key, expectedSize, total);
        await upload(buf);
      }
      if (expectedSize !== undefined && total !== expectedSize)
        throw new SizeMismatchError(key, expectedSize, total);
      await this.client.completeMultipartUpload(this.bucket, key, uploadId, etags);
      uploadId = undefined;
    } catch (err) {
      body.destroy();
      if (uploadId !== undefined) {
        await this.client.abortMultipartUpload(this.bucket, key, uploadId).catch(() => undefined);
      }
      throw err;
    }
  }
}
