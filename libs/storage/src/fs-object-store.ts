import { randomUUID } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';

import { InvalidKeyError, ObjectNotFoundError, SizeMismatchError, StorageUnavailableError } from './errors';
import { assertValidKey, assertValidPrefix } from './keys';
import type { ObjectListEntry, ObjectStat, ObjectStore, PutOptions } from './object-store';

/** Directory under the root that holds in-flight writes; never listed, and not usable as a key's first segment. */
export const FS_TEMP_DIR = '.labelloop-tmp';

/** Temp files older than this are deleted by `ensureReady()` (left behind by a crashed process). */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export interface FilesystemObjectStoreOptions {
  /** Directory holding the objects; relative paths resolve against the process's working directory. */
  root: string;
}

const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function sortKey(name: string, isDir: boolean): Buffer {
  // A directory "a" holds keys "a/...", so it sorts as "a/"; this makes the walk yield keys in byte order.
  return Buffer.from(isDir ? `${name}/` : name, 'utf8');
}

/**
 * Objects as plain files under `root` (key "a/b.png" -> `<root>/a/b.png`). A write goes to a temp file
 * under `<root>/.labelloop-tmp/`, is fsynced, then renamed over the target, so readers never see a
 * partial object. Because keys map to paths, "a" and "a/b" cannot both exist (S3 allows it).
 */
export class FilesystemObjectStore implements ObjectStore {
  readonly root: string;
  private readonly tempDir: string;

  constructor(options: FilesystemObjectStoreOptions) {
    if (!options.root) throw new Error('FilesystemObjectStore: root directory is required');
    this.root = path.resolve(options.root);
    this.tempDir = path.join(this.root, FS_TEMP_DIR);
  }

  async put(key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<void> {
    const target = this.pathFor(key);
    await mkdir(this.tempDir, { recursive: true });
    const tempPath = path.join(this.tempDir, `${randomUUID()}.tmp`);
    let committed = false;
    try {
      const written = await this.writeTemp(tempPath, body);
      if (opts.size !== undefined && opts.size !== written)
        throw new SizeMismatchError(key, opts.size, written);
      await this.commit(key, tempPath, target);
      committed = true;
    } finally {
      if (!committed) await rm(tempPath, { force: true });
    }
  }

  async get(key: string): Promise<Buffer> {
    const file = this.pathFor(key);
    try {
      return await readFile(file);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
  }

  async getStream(key: string): Promise<Readable> {
    const file = this.pathFor(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
    const st = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    if (!st.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key);
    }
    // The handle pins the inode, so a concurrent overwrite (rename) does not affect this reader.
    return handle.createReadStream();
  }

  async stat(key: string): Promise<ObjectStat | null> {
    const file = this.pathFor(key);
    let st: Stats;
    try {
      st = await stat(file);
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) return null;
      throw err;
    }
    if (!st.isFile()) return null;
    return {
      size: st.size,
      etag: `${st.ino.toString(16)}-${st.size.toString(16)}-${Math.trunc(st.mtimeMs).toString(16)}`,
    };
  }

  async remove(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (err) {
      // EISDIR/EPERM: the key names a directory (keys under "key/"), i.e. there is no object "key".
      if (NOT_FOUND_CODES.has(errCode(err) ?? '') || errCode(err) === 'EPERM') return;
      throw err;
    }
    await this.pruneEmptyDirs(path.dirname(file));
  }

  async removePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix);
    if (prefix === '')
      throw new InvalidKeyError(
        prefix,
        'removePrefix needs a non-empty prefix (refusing to delete everything)',
      );
    for await (const { key } of this.list(prefix)) await this.remove(key);
  }

  list(prefix: string): AsyncIterable<ObjectListEntry> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirPart = prefix.slice(0, slash + 1); // '' or 'a/b/'
    const namePrefix = prefix.slice(slash + 1);
    return this.walk(path.join(this.root, ...dirPart.split('/').filter(Boolean)), dirPart, namePrefix);
  }

  async ensureReady(): Promise<void> {
    await mkdir(this.tempDir, { recursive: true });
    const now = Date.now();
    for (const name of await readdir(this.tempDir)) {
      const file = path.join(this.tempDir, name);
      const st = await stat(file).catch(() => null);
      if (st && now - st.mtimeMs > STALE_TEMP_MS) await rm(file, { force: true, recursive: true });
    }
  }

  async check(): Promise<void> {
    let st: Stats;
    try {
      st = await stat(this.root);
    } catch (err) {
      const reason =
        errCode(err) === 'ENOENT'
          ? 'does not exist (call ensureReady())'
          : `cannot be read (${errCode(err) ?? String(err)})`;
      throw new StorageUnavailableError(`Filesystem storage root "${this.root}" ${reason}`, { cause: err });
    }
    if (!st.isDirectory()) {
      throw new StorageUnavailableError(`Filesystem storage root "${this.root}" is not a directory`);
    }
    try {
      await access(this.root, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      throw new StorageUnavailableError(
        `Filesystem storage root "${this.root}" is not readable and writable (${errCode(err) ?? String(err)})`,
        { cause: err },
      );
    }
  }

  private pathFor(key: string): string {
    assertValidKey(key);
    const segments = key.split('/');
    if (segments[0] === FS_TEMP_DIR) {
      throw new InvalidKeyError(key, `'${FS_TEMP_DIR}' is reserved by the filesystem driver`);
    }
    return path.join(this.root, ...segments);
  }

  private async writeTemp(tempPath: string, body: Buffer | Readable): Promise<number> {
    const handle = await open(tempPath, 'wx');
    try {
      let written = 0;
      if (Buffer.isBuffer(body)) {
        await handle.writeFile(body);
        written = body.length;
      } else {
        for await (const chunk of body) {
          const buf: Buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
          await handle.write(buf);
          written += buf.length;
        }
      }
      await handle.sync();
      return written;
    } finally {
      await handle.close();
    }
  }

  private async commit(key: string, tempPath: string, target: string): Promise<void> {
    // A concurrent remove() may prune the parent directory between mkdir and rename: retry a few times.
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await rename(tempPath, target);
        return;
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT' && attempt < 3) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST') {
          throw new Error(`Cannot store "${key}": a parent path is already an object (filesystem driver)`, {
            cause: err,
          });
        }
        if (code === 'EISDIR' || code === 'ENOTEMPTY') {
          throw new Error(
            `Cannot store "${key}": other objects are stored under "${key}/" (filesystem driver)`,
            {
              cause: err,
            },
          );
        }
        throw err;
      }
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        return; // not empty (or already gone / raced with a writer): stop here
      }
      dir = path.dirname(dir);
    }
  }

  private async *walk(dir: string, keyPrefix: string, namePrefix: string): AsyncGenerator<ObjectListEntry> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (NOT_FOUND_CODES.has(errCode(err) ?? '')) return;
      throw err;
    }
    const wanted = entries
      .filter((e) => (e.isFile() || e.isDirectory()) && e.name.startsWith(namePrefix))
      .filter((e) => !(keyPrefix === '' && e.name === FS_TEMP_DIR))
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sort: sortKey(e.name, e.isDirectory()) }))
      .sort((a, b) => Buffer.compare(a.sort, b.sort));
    for (const entry of wanted) {
      const full = path.join(dir, entry.name);
      const key = keyPrefix + entry.name;
      if (entry.isDir) {
        yield* this.walk(full, `${key}/`, '');
        continue;
      }
      const st = await stat(full).catch((err: unknown) => {
        if (NOT_FOUND_CODES.has(errCode(err) ?? '')) return null; // removed while listing
        throw err;
      });
      if (st?.isFile()) yield { key, size: st.size };
    }
  }
}
