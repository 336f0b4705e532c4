// Generates the Prisma client offline. `prisma generate` looks for the native schema
// engine before generating but does not use it, so any existing file satisfies the check.
const { execFileSync } = require('node:child_process');

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], { stdio: 'inherit', env });
