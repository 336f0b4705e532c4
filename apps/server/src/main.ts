import 'reflect-metadata';
import { start } from './start';

start().catch((error: Error) => {
  process.stderr.write(`labelloop failed to start: ${error.message}\n`);
  process.exit(1);
});
