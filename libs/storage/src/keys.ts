import { InvalidKeyError } from './errors';

/** S3's limit on key length, applied to both drivers so keys stay portable. */
export const MAX_KEY_BYTES = 1024;

function checkCommon(value: string, what: 'key' | 'prefix'): void {
  if (typeof value !== 'string') throw new InvalidKeyError(String(value), `${what} must be a string`);
  if (value.startsWith('/')) throw new InvalidKeyError(value, `${what} must not start with '/'`);
  if (value.includes('\\')) throw new InvalidKeyError(value, `${what} must not contain a backslash`);
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidKeyError(value, `${what} must not contain control characters`);
  }
  if (Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidKeyError(value, `${what} is longer than ${MAX_KEY_BYTES} bytes`);
  }
}

/**
 * Validates an object key: non-empty, '/'-separated segments, no leading '/', no empty, '.' or '..'
 * segment (so no trailing '/' or '//'), no backslash, no control characters, at most 1024 UTF-8 bytes.
 * The same rules apply to every driver so a key that works on the filesystem also works on S3.
 */
export function assertValidKey(key: string): void {
  if (key === '') throw new InvalidKeyError(key, 'key must not be empty');
  checkCommon(key, 'key');
  for (const segment of key.split('/')) {
    if (segment === '')
      throw new InvalidKeyError(key, "key must not contain an empty segment ('//' or a trailing '/')");
    if (segment === '..') throw new InvalidKeyError(key, "key must not contain a '..' segment");
    if (segment === '.') throw new InvalidKeyError(key, "key must not contain a '.' segment");
  }
}

/**
 * Validates a listing/removal prefix: may be empty (list only) and may end with '/', otherwise the
 * same rules as keys; the last segment may be partial (e.g. 'images/cat' matches 'images/cat-1.png').
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  checkCommon(prefix, 'prefix');
  const segments = prefix.split('/');
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '' && !last) {
      throw new InvalidKeyError(prefix, "prefix must not contain an empty segment ('//')");
    }
    if (segment === '..') throw new InvalidKeyError(prefix, "prefix must not contain a '..' segment");
    if (segment === '.' && !last) throw new InvalidKeyError(prefix, "prefix must not contain a '.' segment");
  });
}
