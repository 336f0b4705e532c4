import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** Writes bench/results/<name>.json with the keys plus when and where it was measured. */
export function writeResult(name: string, result: Record<string, unknown>): void {
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version };
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ ...result, measured_at: new Date().toISOString(), machine }, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\nwrote bench/results/${name}.json\n`);
}
