import 'reflect-metadata';
import { start } from '../../server/src/start';

// The trainer role on its own (one Deployment per role in production).
start('trainer').catch((error: Error) => {
  process.stderr.write(`labelloop trainer failed to start: ${error.message}\n`);
  process.exit(1);
});
