import { mkdtemp, readdir, rm, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { InvalidKeyError } from './errors';
import { FilesystemObjectStore, FS_TEMP_DIR } from './fs-object-store';
import { collect, describeObjectStoreContract } from './testing/object-store.contract';

let base: string;
let counter = 0;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'labelloop-fs-store-'));
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describeObjectStoreContract('filesystem', {
  create: async () => new FilesystemObjectStore({ root: path.join(base, `root-${++counter}`, 'objects') }),
  createUnavailable: async () => {
    const file = path.join(base, `not-a-dir-${++counter}`);
    await writeFile(file, 'x');
    return {
      store: new FilesystemObjectStore({ root: file }),
      message: /Filesystem storage root ".*" is not a directory/,
    };
  },
});

describe('FilesystemObjectStore specifics', () => {
  let root: string;
  let store: FilesystemObjectStore;

  beforeEach(async () => {
    root = path.join(base, `specific-${++counter}`);
    store = new FilesystemObjectStore({ root });
    await store.ensureReady();
  });

  it('stores key "a/b/c.bin" as <root>/a/b/c.bin and leaves no temp files behind', async () => {
    await store.put('a/b/c.bin', Buffer.from('hello'));
    expect((await stat(path.join(root, 'a', 'b', 'c.bin'))).size).toBe(5);
    expect(await readdir(path.join(root, FS_TEMP_DIR))).toEqual([]);
  });

  it('cleans up the temp file when a put fails', async () => {
    await expect(store.put('x', Buffer.from('abc'), { size: 1 })).rejects.toThrow(/expected 1 bytes/);
    expect(await readdir(path.join(root, FS_TEMP_DIR))).toEqual([]);
  });

  it('prunes directories emptied by remove/removePrefix, but never the root', async () => {
    await store.put('d/e/f/g.bin', Buffer.from('x'));
    await store.put('d/keep.bin', Buffer.from('y'));
    await store.remove('d/e/f/g.bin');
    expect((await readdir(root)).sort()).toEqual([FS_TEMP_DIR, 'd']);
    expect(await readdir(path.join(root, 'd'))).toEqual(['keep.bin']);
    await store.removePrefix('d/');
    expect((await readdir(root)).sort()).toEqual([FS_TEMP_DIR]);
  });

  it('reserves the temp directory name and never lists its contents', async () => {
    await writeFile(path.join(root, FS_TEMP_DIR, 'in-flight.tmp'), 'partial');
    await expect(store.put(`${FS_TEMP_DIR}/x`, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.get(`${FS_TEMP_DIR}/in-flight.tmp`)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await collect(store.list(''))).toEqual([]);
    expect(await collect(store.list('.'))).toEqual([]);
  });

  it('ensureReady() deletes stale temp files (older than a day) but keeps recent ones', async () => {
    const stale = path.join(root, FS_TEMP_DIR, 'stale.tmp');
    const recent = path.join(root, FS_TEMP_DIR, 'recent.tmp');
    await writeFile(stale, 'x');
    await writeFile(recent, 'y');
    const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(stale, old, old);
    await store.ensureReady();
    expect(await readdir(path.join(root, FS_TEMP_DIR))).toEqual(['recent.tmp']);
  });

  it('explains file/directory clashes that S3 would allow', async () => {
    await store.put('clash', Buffer.from('file'));
    await expect(store.put('clash/child', Buffer.from('x'))).rejects.toThrow(
      /parent path is already an object/,
    );
    await store.put('tree/leaf', Buffer.from('x'));
    await expect(store.put('tree', Buffer.from('x'))).rejects.toThrow(
      /other objects are stored under "tree\/"/,
    );
    expect((await store.get('clash')).toString()).toBe('file');
  });

  it('check() reports a missing root and ignores non-regular entries when listing', async () => {
    const missing = new FilesystemObjectStore({ root: path.join(base, `never-${++counter}`) });
    await expect(missing.check()).rejects.toThrow(/does not exist \(call ensureReady\(\)\)/);
    await mkdir(path.join(root, 'only-dirs', 'nested'), { recursive: true });
    expect(await collect(store.list(''))).toEqual([]);
  });

  it('lists in byte order even when a folder name is a prefix of sibling names', async () => {
    // '-' and '.' sort before '/', so "a/1-x" and "a/1.json" come before everything in folder "a/1/".
    for (const key of ['a/10', 'a/1/x', 'a/1.json', 'a/1-x', 'a/1/y/z', 'a/0'])
      await store.put(key, Buffer.from(key));
    expect((await collect(store.list('a/'))).map((e) => e.key)).toEqual([
      'a/0',
      'a/1-x',
      'a/1.json',
      'a/1/x',
      'a/1/y/z',
      'a/10',
    ]);
  });

  it('resolves a relative root against the working directory', () => {
    expect(new FilesystemObjectStore({ root: 'some/rel' }).root).toBe(path.resolve('some/rel'));
  });
});
