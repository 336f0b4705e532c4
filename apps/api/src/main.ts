import 'reflect-metadata';
import { start } from '../../server/src/start';

// The api role on its own (one Deployment per role in production).
start('api').catch((error: Error) => {
  process.stderr.write(`labelloop api failed to start: ${error.message}\n`);
  process.exit(1);
});
