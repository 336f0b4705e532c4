import { applyMigrations } from '@labelloop/db';

// `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (default: the local server's labelloop database).
const url = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/labelloop';

applyMigrations(url, undefined, (line) => process.stdout.write(`${line}\n`))
  .then((result) => {
    process.stdout.write(
      `migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`,
    );
  })
  .catch((error: Error) => {
    process.stderr.write(`migration failed: ${error.message}\n`);
    process.exit(1);
  });
