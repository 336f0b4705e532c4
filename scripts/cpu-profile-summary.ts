import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a process spent its CPU, from a V8 `.cpuprofile` (`node --cpu-prof`): self time per file or package
 * and per layer (Nest, Fastify, pg, ...). A frame without a script (a builtin such as JSON.stringify or
 * RegExp.exec) counts for the nearest caller that has one, so its cost lands in the package that called it.
 * `layers_by_caller` goes further down the stack, past node core, to the code that asked for the work. Socket
 * writes (system calls) are a layer of their own: the profiler samples wall time, and a process that gets
 * preempted inside the call (its write woke the reader) shows the wait there.
 *
 *   node -r @swc-node/register scripts/cpu-profile-summary.ts CPU.*.cpuprofile [--top 25] [--from µs --to µs]
 *
 * --from/--to: a window in process.hrtime.bigint() / 1000 (bench:api writes its windows.json with
 * BENCH_API_PROFILE_DIR).
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  where: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  /** Wall time the summary covers. */
  window_ms: number;
  /** Sampled time not spent idle (waiting for I/O). */
  busy_ms: number;
  layers: Share[];
  /**
   * The same time by the layer that asked for it: node core and builtins count for the innermost
   * package or project file below them on the stack (a socket write issued by pg counts for pg).
   */
  layers_by_caller: Share[];
  files: Share[];
  /** The heaviest functions by self time, as `function (file or package)`. */
  functions: Share[];
}

// Packages grouped by the part of the stack they are; anything else is "other packages".
const LAYERS: [string, RegExp][] = [
  [
    'nest (router, guards, pipes, interceptors)',
    /^(@nestjs\/|rxjs$|reflect-metadata$|iterare$|path-to-regexp$|uid$|tslib$)/,
  ],
  [
    'fastify',
    /^(fastify$|@fastify\/|find-my-way$|avvio$|light-my-request$|fast-json-stringify$|secure-json-parse$|fast-querystring$|fast-decode-uri-component$|toad-cache$|fastq$|reusify$|process-warning$|abstract-logging$)/,
  ],
  ['pg driver', /^(pg|pg-protocol|pg-pool|pg-types|pg-int8|pgpass|pg-connection-string|postgres-.*)$/],
  ['prisma', /^(@prisma\/|prisma$)/],
  ['metrics (prom-client)', /^(prom-client|tdigest|bintrees)$/],
  ['redis (ioredis)', /^(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback)$/],
  ['bullmq', /^(bullmq|msgpackr|cron-parser)$/],
  ['validation (zod)', /^zod$/],
  [
    'logging (pino)',
    /^(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|safe-stable-stringify)$/,
  ],
];

const SOCKET_WRITES = new Set([
  'writev',
  'writeBuffer',
  'writeUtf8String',
  'writeLatin1String',
  'writeAsciiString',
]);
const SOCKET_WRITE = '(socket writes)';
const STREAM_BASE = 'node:internal/stream_base_commons';

/** The package a node_modules path belongs to, `@scope/name` for scoped ones. */
function packageOf(path: string): string {
  const rest = path.slice(path.lastIndexOf('/node_modules/') + '/node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

/** A file or package name for a script URL: package name, project-relative path, or node:<module>. */
export function whereOf(url: string, root: string): string {
  if (url.startsWith('node:')) {
    const parts = url
      .slice(5)
      .replace(/^internal\//, '')
      .split('/');
    return `node:${parts[0]}`;
  }
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  if (path.includes('/node_modules/')) return packageOf(path);
  if (path.startsWith('/')) {
    return relative(root, path)
      .replace(/^dist\//, '')
      .replace(/\.(js|ts)$/, '');
  }
  return path;
}

export function layerOf(where: string): string {
  if (where === '(garbage collector)') return 'gc';
  if (where === '(program)') return 'v8 and native (program)';
  if (where === SOCKET_WRITE) return 'socket writes (system calls)';
  if (where.startsWith('node:')) return 'node core (http, net, streams)';
  if (/^(apps|libs)\//.test(where)) return 'labelloop code';
  if (/^(bench|scripts)\//.test(where)) return 'bench code';
  if (where.startsWith('(')) return where;
  for (const [layer, pattern] of LAYERS) if (pattern.test(where)) return layer;
  return 'other packages';
}

function ranked(totals: Map<string, number>, busyUs: number, top: number): Share[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, us]) => ({
      where,
      ms: Math.round(us / 100) / 10,
      share: busyUs > 0 ? Math.round((us / busyUs) * 1000) / 1000 : 0,
    }));
}

/**
 * Self time per file/package and per layer. `fromUs`/`toUs` (process.hrtime.bigint() / 1000 of any
 * process on the machine: V8 profiles use the same monotonic clock) keep only the samples of that window.
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: { root?: string; fromUs?: number; toUs?: number; top?: number } = {},
): ProfileSummary {
  const root = options.root ?? process.cwd();
  const fromUs = options.fromUs ?? -Infinity;
  const toUs = options.toUs ?? Infinity;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const urlOf = (id: number | undefined) => (id === undefined ? undefined : byId.get(id)?.callFrame.url);
  /** First frame at or below `id` (towards the root) with a script that `accept`s it. */
  const nearest = (id: number, accept: (url: string) => boolean): string | undefined => {
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const url = urlOf(current);
      if (url && accept(url)) return whereOf(url, root);
    }
    return undefined;
  };
  const cache = new Map<number, { where: string; caller: string; fn: string }>();
  const describe = (id: number) => {
    let found = cache.get(id);
    if (!found) {
      const frame = byId.get(id)?.callFrame;
      const name = frame?.functionName || '(anonymous)';
      // A socket write is a system call: its samples are wall time, including any wait for the core.
      const write = SOCKET_WRITES.has(name) && nearest(id, () => true) === whereOf(STREAM_BASE, root);
      const where = write ? SOCKET_WRITE : (nearest(id, () => true) ?? name);
      const caller = write ? SOCKET_WRITE : (nearest(id, (url) => !url.startsWith('node:')) ?? where);
      found = { where, caller, fn: `${name} (${where})` };
      cache.set(id, found);
    }
    return found;
  };

  const files = new Map<string, number>();
  const layers = new Map<string, number>();
  const callerLayers = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (totals: Map<string, number>, key: string, us: number) =>
    totals.set(key, (totals.get(key) ?? 0) + us);
  let busyUs = 0;
  let time = profile.startTime;
  const times = profile.timeDeltas.map((delta) => (time += delta));
  for (let i = 0; i < profile.samples.length - 1; i++) {
    if (times[i] < fromUs || times[i] >= toUs) continue;
    const us = times[i + 1] - times[i];
    const { where, caller, fn } = describe(profile.samples[i]);
    if (where === '(idle)') continue;
    busyUs += us;
    add(files, where, us);
    add(layers, layerOf(where), us);
    add(callerLayers, layerOf(caller), us);
    add(functions, fn, us);
  }
  const windowUs = Math.min(toUs, profile.endTime) - Math.max(fromUs, profile.startTime);
  return {
    window_ms: Math.round(windowUs / 1000),
    busy_ms: Math.round(busyUs / 1000),
    layers: ranked(layers, busyUs, Infinity),
    layers_by_caller: ranked(callerLayers, busyUs, Infinity),
    files: ranked(files, busyUs, options.top ?? 25),
    functions: ranked(functions, busyUs, options.top ?? 25),
  };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name: string): number | undefined => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args.splice(at, 2)[1]) : undefined;
  };
  const top = option('--top') ?? 25;
  const fromUs = option('--from');
  const toUs = option('--to');
  for (const file of args) {
    const summary = summarizeCpuProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, {
      root: resolve(__dirname, '..'),
      top,
      fromUs,
      toUs,
    });
    process.stdout.write(`${file}: ${summary.busy_ms} ms busy of ${summary.window_ms} ms\n`);
    for (const section of ['layers', 'layers_by_caller', 'files', 'functions'] as const) {
      process.stdout.write(`  ${section}:\n`);
      for (const row of summary[section]) {
        process.stdout.write(
          `    ${(row.share * 100).toFixed(1).padStart(5)}%  ${String(row.ms).padStart(8)} ms  ${row.where}\n`,
        );
      }
    }
  }
}
