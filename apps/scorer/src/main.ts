import 'reflect-metadata';
import { start } from '../../server/src/start';

// The scorer role on its own (one Deployment per role in production).
start('scorer').catch((error: Error) => {
  process.stderr.write(`labelloop scorer failed to start: ${error.message}\n`);
  process.exit(1);
});
