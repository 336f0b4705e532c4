import { Readable } from 'node:stream';
import { findUnstorableString, unstorableReason } from './unstorable-strings';

describe('findUnstorableString', () => {
  it('accepts ordinary text, emoji (a surrogate pair) and non-string values', () => {
    expect(findUnstorableString({ text: 'héllo 😀', n: 1, ok: true, none: null, list: [1, 'a'] })).toBeNull();
    expect(unstorableReason('\uD83D\uDE00')).toBeNull();
  });

  it('names the path of a NUL at any depth, in arrays too', () => {
    expect(
      findUnstorableString({ items: [{ text: 'ok' }, { metadata: { tags: ['a', 'b\u0000'] } }] }),
    ).toEqual({
      field: 'items.1.metadata.tags.1',
      reason: expect.stringMatching(/NUL character/),
    });
  });

  it('finds lone high and low surrogates', () => {
    expect(findUnstorableString({ a: 'x\uD800' })?.reason).toMatch(/lone UTF-16 surrogate/);
    expect(findUnstorableString({ a: '\uDC00x' })?.field).toBe('a');
    expect(findUnstorableString({ a: '\uDE00\uD83D' })?.field).toBe('a');
  });

  it('checks keys and quotes a key that cannot be printed as is', () => {
    expect(findUnstorableString({ metadata: { 'a\u0000b': 1 } })).toEqual({
      field: 'metadata."a\\u0000b"',
      reason: expect.stringMatching(/^key contains a NUL/),
    });
    expect(findUnstorableString({ 'x\u0000': { y: 'z\u0000' } })?.field).toBe('"x\\u0000"');
  });

  it('reads query objects built on a prototype without prototype (fast-querystring)', () => {
    const Empty = function () {} as unknown as { new (): Record<string, unknown>; prototype: object };
    Empty.prototype = Object.create(null);
    const query = new Empty();
    query.label = 'spam\u0000';
    expect(findUnstorableString(query)?.field).toBe('label');
  });

  it('reports a bare string as (root) and leaves streams and buffers alone', () => {
    expect(findUnstorableString('\u0000')?.field).toBe('(root)');
    expect(findUnstorableString(Buffer.from([0, 0, 0]))).toBeNull();
    expect(findUnstorableString(Readable.from(['\u0000']))).toBeNull();
  });

  it('walks nesting deeper than the call stack allows', () => {
    let deep: unknown = ['\u0000'];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findUnstorableString(deep)?.field).toMatch(/^(0\.){200000}0$/);
  });
});
