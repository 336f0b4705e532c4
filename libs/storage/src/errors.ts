/** Thrown by `get`/`getStream` when no object is stored under the key. */
export class ObjectNotFoundError extends Error {
  readonly code = 'OBJECT_NOT_FOUND';

  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`Object not found: "${key}"`, options);
    this.name = 'ObjectNotFoundError';
  }
}

/** Thrown (synchronously for `list`, as a rejection elsewhere) when a key or prefix is not acceptable. */
export class InvalidKeyError extends Error {
  readonly code = 'INVALID_OBJECT_KEY';

  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`Invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** Thrown by `check()` (and wrapped around connection failures) when the backend cannot be used. */
export class StorageUnavailableError extends Error {
  readonly code = 'STORAGE_UNAVAILABLE';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** Thrown by `put` when `opts.size` was given and the body had a different length; nothing is stored. */
export class SizeMismatchError extends Error {
  readonly code = 'OBJECT_SIZE_MISMATCH';

  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`Object "${key}": expected ${expected} bytes but the body had ${actual}; nothing was stored`);
    this.name = 'SizeMismatchError';
  }
}
