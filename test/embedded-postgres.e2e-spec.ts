import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `npm start` on a machine without PostgreSQL: the embedded server must come up, take
// the migrations and keep its data across restarts.
describe('embedded PostgreSQL fallback', () => {
  const dataRoot = mkdtempSync(join(tmpdir(), 'labelloop-embedded-'));
  // Run as root, the server runs as the postgres user, which must be able to reach the directory.
  chmodSync(dataRoot, 0o755);
  afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));

  const run = (step: 'write' | 'read') =>
    JSON.parse(
      execFileSync(
        process.execPath,
        ['-r', '@swc-node/register', join(__dirname, 'support', 'embedded-postgres-run.ts'), dataRoot, step],
        { encoding: 'utf8', timeout: 60_000, cwd: join(__dirname, '..') },
      ),
    );

  it('starts, takes the migrations, and keeps data across a restart', () => {
    expect(run('write')).toEqual([{ name: 'kept' }]);
    expect(run('read')).toEqual([{ name: 'kept' }]);
  });
});
