import { Global, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@labelloop/config';
import { createObjectStore, s3OptionsFromUrl } from './factory';

export const OBJECT_STORE = Symbol('OBJECT_STORE');

/** Provides the configured ObjectStore (filesystem by default, S3/MinIO in production) as OBJECT_STORE. */
@Global()
@Module({
  providers: [
    {
      provide: OBJECT_STORE,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const store =
          config.storage.driver === 'fs'
            ? createObjectStore({ driver: 'fs', root: config.storage.root })
            : createObjectStore({
                driver: 's3',
                s3: s3OptionsFromUrl(config.storage.s3.endpoint, {
                  accessKey: config.storage.s3.accessKey,
                  secretKey: config.storage.s3.secretKey,
                  bucket: config.storage.s3.bucket,
                  region: config.storage.s3.region,
                  pathStyle: true,
                }),
              });
        await store.ensureReady();
        return store;
      },
    },
  ],
  exports: [OBJECT_STORE],
})
export class StorageModule {}
