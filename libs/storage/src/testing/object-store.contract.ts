/**
 * Behaviour every ObjectStore driver must have. Not a spec file itself: each driver's spec calls
 * `describeObjectStoreContract` with a harness, so the same tests run against every backend.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import { InvalidKeyError, ObjectNotFoundError, SizeMismatchError, StorageUnavailableError } from '../errors';
import type { ObjectListEntry, ObjectStore } from '../object-store';

export interface ObjectStoreContractHarness {
  /** A store over a fresh, empty namespace (new temp dir / new bucket name); ensureReady() not called yet. */
  create(): Promise<ObjectStore>;
  /** A store whose backend is unusable, and what check()'s message must match. */
  createUnavailable(): Promise<{ store: ObjectStore; message: RegExp }>;
}

/** Bytes big enough to cross a 5 MiB multipart part boundary. */
const STREAM_BYTES = 6 * 1024 * 1024 + 12345;

export async function collect(iterable: AsyncIterable<ObjectListEntry>): Promise<ObjectListEntry[]> {
  const out: ObjectListEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Streams `data` in 64 KiB chunks, asynchronously, so the driver really consumes a stream. */
function chunkedStream(data: Buffer, chunkSize = 64 * 1024): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += chunkSize) {
      await new Promise((resolve) => setImmediate(resolve));
      yield data.subarray(i, i + chunkSize);
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

/** A stream that emits `head`, then waits for `release()`, then emits `tail`. */
function gatedStream(
  head: Buffer,
  tail: Buffer,
): { stream: Readable; release: () => void; started: Promise<void> } {
  let release!: () => void;
  let markStarted!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  async function* gen(): AsyncGenerator<Buffer> {
    markStarted();
    yield head;
    await gate;
    yield tail;
  }
  return { stream: Readable.from(gen(), { objectMode: false }), release, started };
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function describeObjectStoreContract(name: string, harness: ObjectStoreContractHarness): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;

    beforeEach(async () => {
      store = await harness.create();
      await store.ensureReady();
    });

    describe('ensureReady / check', () => {
      it('check() fails before ensureReady() and passes after; ensureReady() is idempotent', async () => {
        const fresh = await harness.create();
        await expect(fresh.check()).rejects.toBeInstanceOf(StorageUnavailableError);
        await fresh.ensureReady();
        await fresh.ensureReady();
        await expect(fresh.check()).resolves.toBeUndefined();
      });

      it('check() rejects with a clear message when the backend is unusable', async () => {
        const { store: broken, message } = await harness.createUnavailable();
        const err = await broken.check().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageUnavailableError);
        expect((err as Error).message).toMatch(message);
      });
    });

    describe('put / get', () => {
      it('round-trips a Buffer with every byte value', async () => {
        const data = Buffer.concat([
          Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
          randomBytes(1000),
        ]);
        await store.put('bin/all-bytes.bin', data, { contentType: 'application/octet-stream' });
        expect((await store.get('bin/all-bytes.bin')).equals(data)).toBe(true);
        expect((await readStream(await store.getStream('bin/all-bytes.bin'))).equals(data)).toBe(true);
      });

      it('round-trips a multi-megabyte stream, with and without a declared size', async () => {
        const data = randomBytes(STREAM_BYTES);
        await store.put('big/unsized.bin', chunkedStream(data));
        await store.put('big/sized.bin', chunkedStream(data), {
          size: data.length,
          contentType: 'image/png',
        });
        for (const key of ['big/unsized.bin', 'big/sized.bin']) {
          const got = await store.get(key);
          expect(got.length).toBe(data.length);
          expect(got.equals(data)).toBe(true);
          expect((await readStream(await store.getStream(key))).equals(data)).toBe(true);
          expect((await store.stat(key))?.size).toBe(data.length);
        }
      });

      it('stores empty objects from a Buffer and from a stream', async () => {
        await store.put('empty/buf', Buffer.alloc(0));
        await store.put('empty/stream', Readable.from([], { objectMode: false }));
        expect((await store.get('empty/buf')).length).toBe(0);
        expect((await store.get('empty/stream')).length).toBe(0);
        expect(await store.stat('empty/buf')).toMatchObject({ size: 0 });
        expect(await store.stat('empty/stream')).toMatchObject({ size: 0 });
      });

      it('accepts keys with spaces, unicode and punctuation', async () => {
        // No '+' or '%': s3rver ignores encoding-type=url, and the client then decodes '+' as a space.
        const key = 'datasets/été 2024/(1) img ü ~!@$&=,;.png';
        await store.put(key, Buffer.from('x'));
        expect((await store.get(key)).toString()).toBe('x');
        expect(await collect(store.list('datasets/'))).toEqual([{ key, size: 1 }]);
      });

      it('overwrites an existing object (longer, then shorter)', async () => {
        await store.put('o/k', Buffer.from('first version, rather long'));
        await store.put('o/k', Buffer.from('second'));
        expect((await store.get('o/k')).toString()).toBe('second');
        expect((await store.stat('o/k'))?.size).toBe(6);
        await store.put('o/k', chunkedStream(Buffer.from('third via stream')));
        expect((await store.get('o/k')).toString()).toBe('third via stream');
        expect(await collect(store.list('o/'))).toEqual([{ key: 'o/k', size: 16 }]);
      });

      it('rejects a body whose length differs from opts.size and stores nothing', async () => {
        await expect(store.put('size/buf', Buffer.from('abc'), { size: 4 })).rejects.toBeInstanceOf(
          SizeMismatchError,
        );
        await expect(
          store.put('size/stream', chunkedStream(Buffer.from('abcdef')), { size: 5 }),
        ).rejects.toThrow(/expected 5 bytes/);
        await expect(store.put('size/short', chunkedStream(Buffer.from('ab')), { size: 5 })).rejects.toThrow(
          SizeMismatchError,
        );
        expect(await store.stat('size/buf')).toBeNull();
        expect(await store.stat('size/stream')).toBeNull();
        expect(await store.stat('size/short')).toBeNull();
        expect(await collect(store.list(''))).toEqual([]);
        await store.put('size/ok', Buffer.from('abc'), { size: 3 });
        expect((await store.get('size/ok')).toString()).toBe('abc');
      });

      it('rejects a multi-megabyte stream whose length differs from opts.size and stores nothing', async () => {
        const data = randomBytes(STREAM_BYTES);
        await expect(
          store.put('size/big-short', chunkedStream(data), { size: data.length + 1 }),
        ).rejects.toThrow(SizeMismatchError);
        await expect(
          store.put('size/big-long', chunkedStream(data), { size: data.length - 1 }),
        ).rejects.toThrow(SizeMismatchError);
        await expect(store.put('size/big-tiny', chunkedStream(data), { size: 10 })).rejects.toThrow(
          SizeMismatchError,
        );
        expect(await collect(store.list(''))).toEqual([]);
      });

      it('a failing body stream rejects put and leaves the previous object intact', async () => {
        await store.put('fail/k', Buffer.from('old'));
        const boom = new Error('source exploded');
        async function* gen(): AsyncGenerator<Buffer> {
          yield randomBytes(1024);
          throw boom;
        }
        await expect(store.put('fail/k', Readable.from(gen()))).rejects.toThrow('source exploded');
        await expect(store.put('fail/new', Readable.from(gen()))).rejects.toThrow('source exploded');
        expect((await store.get('fail/k')).toString()).toBe('old');
        expect(await store.stat('fail/new')).toBeNull();
        expect(await collect(store.list(''))).toEqual([{ key: 'fail/k', size: 3 }]);
      });

      it('a reader never sees a half-written object', async () => {
        await store.put('atomic/existing', Buffer.from('v1'));
        const fresh = gatedStream(Buffer.from('part-one;'), Buffer.from('part-two'));
        const over = gatedStream(Buffer.from('v2-part-one;'), Buffer.from('v2-part-two'));
        const putFresh = store.put('atomic/new', fresh.stream);
        const putOver = store.put('atomic/existing', over.stream);
        await Promise.all([fresh.started, over.started]);
        await new Promise((resolve) => setTimeout(resolve, 50)); // let the drivers write the first chunk
        expect(await store.stat('atomic/new')).toBeNull();
        await expect(store.get('atomic/new')).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect((await store.get('atomic/existing')).toString()).toBe('v1');
        expect(await collect(store.list('atomic/'))).toEqual([{ key: 'atomic/existing', size: 2 }]);
        fresh.release();
        over.release();
        await Promise.all([putFresh, putOver]);
        expect((await store.get('atomic/new')).toString()).toBe('part-one;part-two');
        expect((await store.get('atomic/existing')).toString()).toBe('v2-part-one;v2-part-two');
      });
    });

    describe('stat / missing keys', () => {
      it('stat returns the size (and a string etag when present) or null when missing', async () => {
        await store.put('s/a', Buffer.from('12345'));
        const st = await store.stat('s/a');
        expect(st).not.toBeNull();
        expect(st?.size).toBe(5);
        if (st?.etag !== undefined) expect(typeof st.etag).toBe('string');
        expect(await store.stat('s/missing')).toBeNull();
        expect(await store.stat('s')).toBeNull(); // a "directory" is not an object
      });

      it('get and getStream throw ObjectNotFoundError naming the key', async () => {
        for (const op of [(k: string) => store.get(k), (k: string) => store.getStream(k)]) {
          const err = await op('nope/missing.png').then(
            () => null,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ObjectNotFoundError);
          expect((err as ObjectNotFoundError).key).toBe('nope/missing.png');
          expect((err as Error).message).toContain('nope/missing.png');
        }
        await store.put('dir/child', Buffer.from('x'));
        await expect(store.get('dir')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe('list', () => {
      // 30 keys: several pages for the S3 harness (page size 7). Kept free of names like "ds/1-x" next to a
      // "ds/1/" folder, which s3rver (unlike S3/MinIO) lists out of byte order; see the next test for those.
      const keys = [
        ...Array.from({ length: 24 }, (_, i) => `ds/1/img-${String(i).padStart(2, '0')}.png`),
        'ds/1/sub/deep/x.json',
        'ds/10/a.png',
        'ds/2/a.png',
        'other/1/a.png',
        'top.bin',
        'zz',
      ];

      beforeEach(async () => {
        for (const [i, key] of keys.entries()) await store.put(key, Buffer.alloc(i + 1, i));
      });

      const sized = (ks: string[]): ObjectListEntry[] =>
        ks.map((key) => ({ key, size: keys.indexOf(key) + 1 })).sort((a, b) => byteOrder(a.key, b.key));

      it('lists everything under a prefix, recursively, in byte order, with sizes', async () => {
        expect(await collect(store.list('ds/1/'))).toEqual(sized(keys.filter((k) => k.startsWith('ds/1/'))));
        expect(await collect(store.list('ds/'))).toEqual(sized(keys.filter((k) => k.startsWith('ds/'))));
        expect(await collect(store.list(''))).toEqual(sized(keys));
      });

      it('narrows by a partial last segment', async () => {
        expect((await collect(store.list('ds/1/img-1'))).map((e) => e.key)).toEqual(
          Array.from({ length: 10 }, (_, i) => `ds/1/img-1${i}.png`),
        );
        expect((await collect(store.list('ds/1'))).map((e) => e.key)).toEqual(
          keys.filter((k) => k.startsWith('ds/1')).sort(byteOrder),
        );
        expect((await collect(store.list('top.bin'))).map((e) => e.key)).toEqual(['top.bin']);
      });

      it('returns nothing for a prefix that matches nothing', async () => {
        expect(await collect(store.list('nothing/'))).toEqual([]);
        expect(await collect(store.list('ds/3'))).toEqual([]);
      });
    });

    it('list treats the prefix as a plain string prefix, not a folder', async () => {
      const keys = ['p/1-x', 'p/1.json', 'p/1/a', 'p/10/a', 'p/2', 'q'];
      for (const key of keys) await store.put(key, Buffer.from(key));
      const listed = async (prefix: string): Promise<string[]> =>
        (await collect(store.list(prefix))).map((e) => e.key).sort(byteOrder);
      expect(await listed('p/1')).toEqual(['p/1-x', 'p/1.json', 'p/1/a', 'p/10/a']);
      expect(await listed('p/1/')).toEqual(['p/1/a']);
      expect(await listed('p/1.')).toEqual(['p/1.json']);
      expect(await listed('p/')).toEqual(keys.slice(0, 5));
    });

    describe('remove / removePrefix', () => {
      it('remove deletes an object; removing a missing key is fine', async () => {
        await store.put('r/a', Buffer.from('a'));
        await store.put('r/b', Buffer.from('b'));
        await store.remove('r/a');
        await expect(store.remove('r/a')).resolves.toBeUndefined();
        await expect(store.remove('never/existed')).resolves.toBeUndefined();
        await expect(store.get('r/a')).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await collect(store.list(''))).toEqual([{ key: 'r/b', size: 1 }]);
        // the key can be reused after removal
        await store.put('r/a', Buffer.from('again'));
        expect((await store.get('r/a')).toString()).toBe('again');
      });

      it('removePrefix deletes exactly the objects whose key starts with the prefix', async () => {
        const all = ['p/1/a', 'p/1/b/c', 'p/1/b/d', 'p/10/a', 'p/1-x', 'p/2/a', 'q/1/a'];
        for (const key of all) await store.put(key, Buffer.from(key));
        await store.removePrefix('p/1/');
        expect((await collect(store.list(''))).map((e) => e.key)).toEqual([
          'p/1-x',
          'p/10/a',
          'p/2/a',
          'q/1/a',
        ]);
        await store.removePrefix('p/1');
        expect((await collect(store.list(''))).map((e) => e.key)).toEqual(['p/2/a', 'q/1/a']);
        await expect(store.removePrefix('nothing/here/')).resolves.toBeUndefined();
        expect((await store.get('q/1/a')).toString()).toBe('q/1/a');
        // keys can be written again under a removed prefix
        await store.put('p/1/b/c', Buffer.from('back'));
        expect((await store.get('p/1/b/c')).toString()).toBe('back');
      });

      it('removePrefix refuses an empty prefix', async () => {
        await store.put('keep/me', Buffer.from('x'));
        await expect(store.removePrefix('')).rejects.toBeInstanceOf(InvalidKeyError);
        expect(await store.stat('keep/me')).toMatchObject({ size: 1 });
      });
    });

    describe('key validation', () => {
      const badKeys = [
        '',
        '/abs',
        'a/../b',
        '..',
        'a/..',
        'win\\path',
        'a//b',
        'trailing/',
        './a',
        'nul\u0000byte',
        'x'.repeat(1025),
      ];

      it.each(badKeys.map((k) => [JSON.stringify(k).slice(0, 40), k]))(
        'rejects key %s on every operation',
        async (_, key) => {
          const ops: Array<() => Promise<unknown>> = [
            () => store.put(key, Buffer.from('x')),
            () => store.put(key, chunkedStream(Buffer.from('x'))),
            () => store.get(key),
            () => store.getStream(key),
            () => store.stat(key),
            () => store.remove(key),
          ];
          for (const op of ops) await expect(op()).rejects.toBeInstanceOf(InvalidKeyError);
          expect(await collect(store.list(''))).toEqual([]);
        },
      );

      it('error messages say what is wrong', async () => {
        await expect(store.get('a/../b')).rejects.toThrow(/'\.\.' segment/);
        await expect(store.get('/abs')).rejects.toThrow(/must not start with '\/'/);
        await expect(store.get('a\\b')).rejects.toThrow(/backslash/);
        await expect(store.get('')).rejects.toThrow(/must not be empty/);
      });

      it('rejects invalid prefixes for list and removePrefix', async () => {
        expect(() => store.list('/abs')).toThrow(InvalidKeyError);
        expect(() => store.list('a/../')).toThrow(InvalidKeyError);
        expect(() => store.list('a\\')).toThrow(InvalidKeyError);
        await expect(store.removePrefix('../')).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.removePrefix('/')).rejects.toBeInstanceOf(InvalidKeyError);
      });
    });
  });
}
