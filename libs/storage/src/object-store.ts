import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Stored as the object's Content-Type by the S3 driver; the filesystem driver ignores it. */
  contentType?: string;
  /** Expected length in bytes. When given, a body of another length is rejected and nothing is stored. */
  size?: number;
}

export interface ObjectStat {
  size: number;
  etag?: string;
}

export interface ObjectListEntry {
  key: string;
  size: number;
}

/**
 * A flat key -> bytes store. Keys are '/'-separated paths (see `assertValidKey`). Writes are atomic:
 * a reader sees either the previous object or the complete new one, never a partial body.
 */
export interface ObjectStore {
  /** Stores `body` under `key`, replacing any existing object. A stream body is consumed to its end. */
  put(key: string, body: Buffer | Readable, opts?: PutOptions): Promise<void>;
  /** Whole object in memory. Throws `ObjectNotFoundError` when missing. */
  get(key: string): Promise<Buffer>;
  /** Object as a stream; resolves once the object is known to exist. Throws `ObjectNotFoundError` when missing. */
  getStream(key: string): Promise<Readable>;
  /** Size (and etag where the backend has one), or null when missing. */
  stat(key: string): Promise<ObjectStat | null>;
  /** Deletes the object; a missing key is not an error. */
  remove(key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix` (plain string prefix, like S3). Empty prefix is refused. */
  removePrefix(prefix: string): Promise<void>;
  /** Every object whose key starts with `prefix`, in ascending byte order of the key. Pages internally. */
  list(prefix: string): AsyncIterable<ObjectListEntry>;
  /** Creates the bucket / root directory when missing. Idempotent. */
  ensureReady(): Promise<void>;
  /** Health probe: resolves when the store is usable, throws `StorageUnavailableError` with the reason otherwise. */
  check(): Promise<void>;
}
