export { InvalidKeyError, ObjectNotFoundError, SizeMismatchError, StorageUnavailableError } from './errors';
export { createObjectStore, s3OptionsFromUrl, type ObjectStoreOptions } from './factory';
export { FilesystemObjectStore, FS_TEMP_DIR, type FilesystemObjectStoreOptions } from './fs-object-store';
export { assertValidKey, assertValidPrefix, MAX_KEY_BYTES } from './keys';
export type { ObjectListEntry, ObjectStat, ObjectStore, PutOptions } from './object-store';
export { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store';
export { OBJECT_STORE, StorageModule } from './storage.module';
