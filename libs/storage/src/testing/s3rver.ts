import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** Test-only helper: an in-process S3 server (s3rver) on 127.0.0.1, random free port, temp directory. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

export interface LocalS3 {
  port: number;
  endpointUrl: string;
  /** Stops the server (idempotent); the data directory is kept until `dispose()`. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startLocalS3(): Promise<LocalS3> {
  // s3rver is CommonJS without type definitions.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver') as S3rverCtor;
  const directory = await mkdtemp(path.join(tmpdir(), 'labelloop-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  let running = true;
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await server.close();
  };
  return {
    port,
    endpointUrl: `http://127.0.0.1:${port}`,
    stop,
    dispose: async () => {
      await stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
