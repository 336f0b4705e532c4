import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// No Docker engine on the build machines: the Dockerfile is parsed and its invariants checked.
const root = resolve(__dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
  /** Body of a heredoc (`COPY <<'EOF' path`), when the instruction has one. */
  heredoc?: string;
}

interface Stage {
  name: string;
  /** The FROM image with build arguments substituted (or the name of an earlier stage). */
  base: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages: joins `\` continuations, reads heredocs, substitutes ARGs declared before FROM. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n');
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i].trim();
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`unparsable Dockerfile line ${i + 1}: ${line}`);
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    const instruction: Instruction = { keyword, args };
    const heredoc = /<<-?'?"?(\w+)'?"?/.exec(args);
    if (heredoc && (keyword === 'COPY' || keyword === 'RUN')) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== heredoc[1]) body.push(lines[i]);
      if (i >= lines.length) throw new Error(`heredoc ${heredoc[1]} is not closed`);
      instruction.heredoc = body.join('\n');
    }
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`bad FROM: ${args}`);
      const base = from[1].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => {
        const value = globalArgs[a ?? b];
        if (value === undefined) throw new Error(`FROM uses undeclared ARG ${a ?? b}`);
        return value;
      });
      stages.push({ name: from[2] ?? String(stages.length), base, instructions: [] });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`${keyword} before the first FROM`);
      const [name, value] = args.split('=');
      globalArgs[name] = value ?? '';
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** Docker's JSON (exec) form of CMD/ENTRYPOINT, or null for the shell form. */
function execForm(args: string): string[] | null {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) ? (parsed as string[]) : null;
  } catch {
    return null;
  }
}

/** ENV in both forms: `ENV A=1 B=2` and `ENV A 1`. */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (args.includes('=')) {
      for (const pair of args.match(/\S+=("[^"]*"|\S+)/g) ?? []) {
        const at = pair.indexOf('=');
        env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"|"$/g, '');
      }
    } else {
      const [name, ...rest] = args.split(/\s+/);
      env[name] = rest.join(' ');
    }
  }
  return env;
}

/** The stage, and the stages its files come from (COPY --from / FROM <stage>), transitively. */
function stageChain(stages: Stage[], name: string): Stage[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const sources = new Set<string>([stage.base]);
  for (const i of stage.instructions) {
    const from = /--from=(\S+)/.exec(i.args);
    if (i.keyword === 'COPY' && from) sources.add(from[1]);
  }
  const known = [...sources].filter((s) => stages.some((st) => st.name === s));
  return [stage, ...known.flatMap((s) => stageChain(stages, s))];
}

const ROLES = ['api', 'trainer', 'scorer', 'all'];

/** What a final (runnable) stage must satisfy; an empty list when it does. */
function runtimeStageProblems(stages: Stage[], name: string): string[] {
  const problems: string[] = [];
  const stage = stages.find((s) => s.name === name);
  if (!stage) return [`no stage ${name}`];
  const users = stage.instructions.filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.args;
  if (!user) problems.push('no USER: the container would run as root');
  else if (!/^[1-9]\d*(:[1-9]\d*)?$/.test(user))
    problems.push(`USER ${user}: must be a numeric non-root uid so runAsNonRoot can verify it`);
  const lastUserAt = stage.instructions.lastIndexOf(users.at(-1) as Instruction);
  if (
    stage.instructions
      .slice(lastUserAt + 1)
      .some((i) => i.keyword === 'RUN' && /\bsudo\b|\bsu\b/.test(i.args))
  )
    problems.push('switches user after USER');
  const role = envOf(stage).LABELLOOP_ROLE;
  if (!ROLES.includes(role)) problems.push(`ENV LABELLOOP_ROLE=${role}: must be one of ${ROLES.join('|')}`);
  const cmd = stage.instructions.filter((i) => i.keyword === 'CMD').at(-1);
  const argv = cmd && execForm(cmd.args);
  if (!argv)
    problems.push('CMD missing or not in exec form (signals must reach node for a graceful shutdown)');
  else if (!argv.join(' ').includes('node dist/apps/server/src/main.js'))
    problems.push(`CMD ${cmd?.args} does not start dist/apps/server/src/main.js`);
  const copies = stage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  // The migration runner locates prisma/migrations beside the package.json named labelloop.
  for (const needed of ['package.json', 'prisma', 'dist', 'node_modules']) {
    if (!copies.some((c) => c.split(/\s+/).some((part) => part.replace(/^\/app\//, '') === needed)))
      problems.push(`${needed} is not copied into the image`);
  }
  if (!stage.instructions.some((i) => i.keyword === 'HEALTHCHECK' && i.args.includes('/health/live')))
    problems.push('no HEALTHCHECK on /health/live');
  // Only production dependencies: every npm ci in the stages that provide node_modules omits dev.
  const deps = copies.find((c) => /node_modules/.test(c));
  const depsStage = deps && /--from=(\S+)/.exec(deps)?.[1];
  for (const s of depsStage ? stageChain(stages, depsStage) : []) {
    for (const i of s.instructions.filter((i) => i.keyword === 'RUN' && /npm (ci|install)\b/.test(i.args))) {
      if (!i.args.includes('--omit=dev')) problems.push(`stage ${s.name}: npm without --omit=dev: ${i.args}`);
    }
  }
  return problems;
}

/** Docker's .dockerignore matching for the patterns we use: `*` within a segment, `**` across, a match excludes below. */
function ignoredBy(patterns: string[], path: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/|\/$/g, '');
    const regex = new RegExp(
      '^' +
        pattern
          .split('**')
          .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('.*') +
        '(/.*)?$',
    );
    if (regex.test(path)) ignored = !negate;
  }
  return ignored;
}

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const stage = (name: string) => stages.find((s) => s.name === name) as Stage;
const runs = (name: string) =>
  stage(name)
    .instructions.filter((i) => i.keyword === 'RUN')
    .map((i) => i.args);
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

describe('Dockerfile parser', () => {
  it('joins continuations, reads heredocs and substitutes global ARGs', () => {
    const parsed = parseDockerfile(
      [
        'ARG BASE=node:20',
        'FROM ${BASE} AS a',
        'RUN one \\',
        '  two',
        "COPY <<'EOF' /x",
        'body',
        'EOF',
        'USER 1',
      ].join('\n'),
    );
    expect(parsed).toEqual([
      {
        name: 'a',
        base: 'node:20',
        instructions: [
          { keyword: 'RUN', args: 'one  two' },
          { keyword: 'COPY', args: "<<'EOF' /x", heredoc: 'body' },
          { keyword: 'USER', args: '1' },
        ],
      },
    ]);
  });

  it('refuses a FROM that names an undeclared ARG', () => {
    expect(() => parseDockerfile('FROM ${NOPE}')).toThrow('undeclared ARG NOPE');
  });
});

describe('Dockerfile', () => {
  it('has the stages the compose file and README build: runtime (default, last) and trainer-gpu', () => {
    expect(stages.map((s) => s.name)).toEqual(
      expect.arrayContaining(['build', 'prod-deps', 'gpu-deps', 'trainer-gpu', 'runtime']),
    );
    expect(stages.at(-1)?.name).toBe('runtime');
  });

  it('pins every base image by version tag (no latest, no bare name)', () => {
    for (const s of stages) {
      if (stages.some((other) => other.name === s.base)) continue;
      expect(s.base).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.base).not.toMatch(/:latest$/);
    }
    const node = stages.find((s) => s.name === 'node')?.base ?? '';
    // package.json engines: node >= 20.19 (require(esm) for Nest 12).
    const [, minor] = /^node:20\.(\d+)\.\d+-bookworm-slim$/.exec(node) ?? [];
    expect(Number(minor)).toBeGreaterThanOrEqual(19);
    expect(pkg.engines.node).toBe('>=20.19');
    expect(stage('trainer-gpu').base).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime-/);
    expect(stage('gpu-deps').base).toBe(stage('trainer-gpu').base);
  });

  it.each(['runtime', 'trainer-gpu'])(
    '%s: non-root numeric USER, role variable, entry point, files',
    (name) => {
      expect(runtimeStageProblems(stages, name)).toEqual([]);
    },
  );

  it('the CPU image holds production dependencies only, without optional native packages', () => {
    const install = runs('prod-deps').find((r) => r.includes('npm ci'));
    expect(install).toMatch(/--omit=dev/);
    expect(install).toMatch(/--omit=optional/);
    expect(envOf(stage('runtime')).LABELLOOP_ROLE).toBe('api');
  });

  it('the GPU image installs @tensorflow/tfjs-node-gpu and checks for the GPU at build and at start', () => {
    const install = runs('gpu-deps').join(' && ');
    expect(install).toMatch(/npm ci --omit=dev/);
    expect(install).not.toMatch(/--omit=optional/);
    expect(install).toMatch(/npm rebuild @tensorflow\/tfjs-node-gpu/);
    expect(install).toContain("require('@tensorflow/tfjs-node-gpu')");
    const gpu = stage('trainer-gpu');
    const check = gpu.instructions.find(
      (i) => i.heredoc !== undefined && i.args.endsWith('/app/gpu-check.js'),
    );
    expect(check?.heredoc).toContain("require('@tensorflow/tfjs-node-gpu')");
    expect(check?.heredoc).toMatch(/isUsingGpuDevice/);
    expect(check?.heredoc).toMatch(/GPU \$\{gpu \? 'found' : 'NOT found'\}/);
    expect(runs('trainer-gpu')).toContain('node gpu-check.js --allow-cpu');
    const cmd = execForm(gpu.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? '');
    expect(cmd?.join(' ')).toMatch(/node gpu-check\.js && exec node dist\/apps\/server\/src\/main\.js/);
    expect(envOf(gpu)).toMatchObject({ LABELLOOP_ROLE: 'trainer', ML_BACKEND: 'tensorflow-gpu' });
    // Read-only root filesystem: the CUDA JIT cache must live on the /tmp emptyDir.
    expect(envOf(gpu).CUDA_CACHE_PATH).toMatch(/^\/tmp\//);
  });

  it('builds with the npm scripts package.json defines, and the entry points exist in the sources', () => {
    expect(runs('build').join(' ')).toMatch(/npm ci .*&& npm run db:generate/);
    expect(runs('build')).toContain('npm run build');
    expect(pkg.scripts['db:generate']).toContain('scripts/prisma-generate.js');
    expect(pkg.scripts.build).toMatch(/-d dist/);
    expect(pkg.name).toBe('labelloop');
    for (const entry of ['apps/server/src/main.ts', 'apps/server/src/migrate.ts'])
      expect(existsSync(join(root, entry))).toBe(true);
  });

  it('copies only paths that exist and that .dockerignore lets into the build context', () => {
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !/--from=/.test(i.args) && i.heredoc === undefined)
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((part) => !part.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'prisma', 'apps', 'libs']),
    );
    for (const source of sources) {
      expect([source, existsSync(join(root, source))]).toEqual([source, true]);
      expect([source, ignoredBy(dockerignore, source)]).toEqual([source, false]);
    }
  });

  it('.dockerignore keeps local builds and secrets out of the context', () => {
    for (const path of [
      'node_modules/x',
      'dist/apps/a.js',
      '.env',
      '.env.local',
      '.data/postgres',
      'libs/db/src/generated/prisma',
    ])
      expect([path, ignoredBy(dockerignore, path)]).toEqual([path, true]);
    expect(ignoredBy(['*.log', '!keep.log'], 'keep.log')).toBe(false);
    expect(ignoredBy(['*.log'], 'a/b.log')).toBe(false);
  });

  describe('the checks catch a broken image', () => {
    const mutate = (name: string, edit: (instructions: Instruction[]) => Instruction[]): Stage[] =>
      stages.map((s) => (s.name === name ? { ...s, instructions: edit(s.instructions) } : s));

    it('without USER, or as root', () => {
      expect(
        runtimeStageProblems(
          mutate('runtime', (is) => is.filter((i) => i.keyword !== 'USER')),
          'runtime',
        ),
      ).toEqual(['no USER: the container would run as root']);
      const asRoot = mutate('runtime', (is) => [...is, { keyword: 'USER', args: '0' }]);
      expect(runtimeStageProblems(asRoot, 'runtime')).toEqual([expect.stringMatching(/^USER 0:/)]);
      const byName = mutate('runtime', (is) => [...is, { keyword: 'USER', args: 'node' }]);
      expect(runtimeStageProblems(byName, 'runtime')).toEqual([expect.stringMatching(/^USER node:/)]);
    });

    it('without the role variable, the migrations or the production-only install', () => {
      const noRole = mutate('runtime', (is) =>
        is.map((i) => (i.keyword === 'ENV' ? { ...i, args: i.args.replace(/LABELLOOP_ROLE=\w+/, '') } : i)),
      );
      expect(runtimeStageProblems(noRole, 'runtime')).toEqual([expect.stringMatching(/LABELLOOP_ROLE/)]);
      const noPrisma = mutate('runtime', (is) => is.filter((i) => i.args !== 'prisma ./prisma'));
      expect(runtimeStageProblems(noPrisma, 'runtime')).toEqual(['prisma is not copied into the image']);
      const devDeps = mutate('prod-deps', (is) =>
        is.map((i) => ({ ...i, args: i.args.replace('--omit=dev ', '') })),
      );
      expect(runtimeStageProblems(devDeps, 'runtime')).toEqual([expect.stringMatching(/without --omit=dev/)]);
    });
  });
});
