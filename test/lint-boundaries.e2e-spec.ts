import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// The project's ESLint configuration keeps the layering of DESIGN.md: apps import libs, never each other's
// src; libs never import apps; libs/ml stays free of Nest, the database and queues.
describe('lint boundaries', () => {
  const root = join(__dirname, '..');

  /** The real ESLint CLI on the project's config (its .mjs config loads outside Jest's module system). */
  async function problems(file: string, code: string): Promise<string[]> {
    let output: string;
    try {
      output = execFileSync(
        process.execPath,
        [
          join(root, 'node_modules/eslint/bin/eslint.js'),
          '--format',
          'json',
          '--stdin',
          '--stdin-filename',
          file,
        ],
        { cwd: root, input: code, encoding: 'utf8' },
      );
    } catch (error) {
      output = (error as { stdout: string }).stdout; // exit code 1 when there are problems
    }
    const [result] = JSON.parse(output) as { messages: { ruleId: string; message: string }[] }[];
    return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
  }

  it("refuses an app importing another app's src", async () => {
    const code =
      "import { TrainingProcessor } from '../../trainer/src/training.processor';\nexport const x = TrainingProcessor;\n";
    expect(await problems('apps/scorer/src/example.ts', code)).toEqual([
      expect.stringMatching(/another app's src/),
    ]);
    expect(
      await problems('apps/api/src/models/example.ts', code.replace('../../', '../../../')),
    ).toHaveLength(1);
  });

  it('lets an app import libs, and a role entry point reach the launcher', async () => {
    const lib = "import { ComputePool } from '@labelloop/pipeline';\nexport const x = ComputePool;\n";
    expect(await problems('apps/scorer/src/example.ts', lib)).toEqual([]);
    const main = "import { start } from '../../server/src/start';\nexport const x = start;\n";
    expect(await problems('apps/scorer/src/main.ts', main)).toEqual([]);
  });

  it('refuses a lib importing an app, and libs/ml importing Nest, pg or another lib', async () => {
    const app =
      "import { ApiModule } from '../../../apps/api/src/api.module';\nexport const x = ApiModule;\n";
    expect(await problems('libs/pipeline/src/example.ts', app)).toHaveLength(1);
    for (const source of ['@nestjs/common', 'pg', 'bullmq', '@labelloop/db']) {
      const code = `import * as m from '${source}';\nexport const x = m;\n`;
      expect(await problems('libs/ml/src/example.ts', code)).toEqual([expect.stringMatching(/libs\/ml/)]);
    }
  });
});
