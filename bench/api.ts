import { execSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { Pool } from 'undici';
import { type CpuProfile, type ProfileSummary, summarizeCpuProfile } from '../scripts/cpu-profile-summary';
import { startBareServer, type BareServer } from './support/bare-server';
import { writeResult } from './support/results';
import { api, importNdjson, startBenchServer, type BenchServer } from './support/server';
import { keyedRequest, percentile, round } from './support/load';

// `npm run bench:api`: 16 concurrent annotator loops for 15 s per phase and server. A loop leases a batch
// (tasks/next?limit=10, then limit=1 for the `_single` figures) and annotates every task it got. Each phase
// runs in the same run against labelloop's API role and against a bare Fastify + pg server running the same
// SQL (bench/support/bare-server.ts), each on its own freshly imported project of the same database, settled
// together, taking turns in rounds. `ratio_vs_bare` is the service's labels/s over the bare server's. Then a
// shorter phase against both under `--cpu-prof` says where each spends its CPU (`profile`). Latency is per
// HTTP request.
const LOOPS = 16;
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 15);
const ITEMS = Number(process.env.BENCH_API_ITEMS ?? 80_000);
/** Length of the profiled phase; 0 skips profiling. BENCH_API_PROFILE_DIR keeps the .cpuprofile files. */
const PROFILE_SECONDS = Number(process.env.BENCH_API_PROFILE_SECONDS ?? 8);
/** The lease size of the profiled phase. */
const PROFILE_LIMIT = Number(process.env.BENCH_API_PROFILE_LIMIT ?? 10);
/** Each phase alternates between the targets in this many rounds (its seconds split between them). */
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 5);
const PORT = 3902;
const BARE_PORT = 3903;
const PROFILE_PORT = 3904;
const PROFILE_BARE_PORT = 3905;
const ROOT = resolve(__dirname, '..');
const CLOCK_TICKS = (() => {
  try {
    return Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One server under load: how to reach it and how much CPU its own process has used so far. */
interface Target {
  name: 'api' | 'bare';
  baseUrl: string;
  /** application_name of its PostgreSQL connections, to find their backends. */
  pgApplication: string;
  cpuSeconds(): Promise<number>;
}

interface PhaseResult {
  labelsPerSecond: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  labels: number;
  /** process.hrtime of the load, in microseconds (the clock of V8's CPU profiles). */
  fromUs: number;
  toUs: number;
  /** CPU milliseconds per label written: the server process, its PostgreSQL backends, the load generator. */
  cpuMsPerLabel: { server: number; postgres: number; load_generator: number };
}

function serviceTarget(server: BenchServer): Target {
  return {
    name: 'api',
    baseUrl: server.baseUrl,
    pgApplication: 'labelloop',
    // From /proc rather than /metrics: a scrape would run the service's gauge queries on its backends.
    cpuSeconds: async () => procCpuSeconds(server.pid),
  };
}

function bareTarget(bare: BareServer): Target {
  return {
    name: 'bare',
    baseUrl: bare.baseUrl,
    pgApplication: 'labelloop-bare',
    cpuSeconds: async () => procCpuSeconds(bare.pid),
  };
}

/** utime + stime of a process from /proc, in seconds (0 once it is gone). */
function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds used so far by each PostgreSQL backend serving `application`, by pid. */
async function backendCpu(databaseUrl: string, application: string): Promise<Map<number, number>> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [application],
    );
    return new Map(rows.map((row) => [row.pid, procCpuSeconds(row.pid)]));
  } finally {
    await client.end();
  }
}

async function setUpProject(server: BenchServer, name: string): Promise<string> {
  const project = await api(server.baseUrl, 'POST', '/v1/projects', {
    name,
    inputKind: 'text',
    labels: ['spam', 'ham'],
  });
  const lines = function* () {
    for (let i = 0; i < ITEMS; i++)
      yield `${JSON.stringify({ externalId: `${name}-${i}`, text: `message ${i}` })}\n`;
  };
  const response = await importNdjson(server.baseUrl, project.id, lines());
  if (!response.ok) throw new Error(`import failed: ${await response.text()}`);
  return project.id;
}

async function createKeys(server: BenchServer): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < LOOPS; i++) {
    const created = await api(server.baseUrl, 'POST', '/v1/api-keys', {
      name: `annotator-${i}`,
      role: 'annotator',
    });
    keys.push(created.key);
  }
  return keys;
}

/** One target's side of a phase: its project, and what its rounds added up to so far. */
interface Runner {
  /** Runs the annotator loops against the target for `seconds`. */
  round(seconds: number): Promise<void>;
  result(): Promise<PhaseResult>;
}

/** Imports the target's project (settled by the caller) and returns the rounds to run against it. */
async function prepare(server: BenchServer, target: Target, keys: string[], limit: number): Promise<Runner> {
  const projectId = await setUpProject(server, `bench-${target.name}-limit-${limit}`);
  // undici's pool keeps the load generator's own cost per request low, so the machine's
  // two cores go to the service and PostgreSQL rather than to the client.
  const pool = new Pool(target.baseUrl, { connections: LOOPS });
  const call = async (method: 'GET' | 'POST', path: string, key: string, body?: string) => {
    const response = await keyedRequest(pool, method, path, key, body);
    return { status: response.statusCode, body: await response.body.text() };
  };
  const latencies: number[] = [];
  let labels = 0;
  let errors = 0;
  let elapsed = 0;
  let fromUs = Infinity;
  let toUs = 0;
  const cpu = { server: 0, postgres: 0, client: 0 };
  const timed = async (method: 'GET' | 'POST', path: string, key: string, body?: string) => {
    const started = performance.now();
    try {
      const response = await call(method, path, key, body);
      latencies.push(performance.now() - started);
      if (response.status >= 300) errors++;
      return response;
    } catch {
      errors++;
      return null;
    }
  };
  return {
    round: async (seconds) => {
      const serverCpuBefore = await target.cpuSeconds();
      const pgBefore = await backendCpu(server.databaseUrl, target.pgApplication);
      const clientBefore = process.cpuUsage();
      fromUs = Math.min(fromUs, Number(process.hrtime.bigint() / 1000n));
      const started = performance.now();
      const deadline = started + seconds * 1000;
      await Promise.all(
        keys.map(async (key) => {
          while (performance.now() < deadline) {
            const leased = await timed('GET', `/v1/projects/${projectId}/tasks/next?limit=${limit}`, key);
            if (!leased || leased.status !== 200) continue;
            const tasks = JSON.parse(leased.body).data as { id: string }[];
            for (const task of tasks) {
              const label = Math.random() < 0.5 ? 'spam' : 'ham';
              const body = JSON.stringify({ label, leadTimeMs: 1500 });
              const done = await timed('POST', `/v1/tasks/${task.id}/annotation`, key, body);
              if (done?.status === 201) labels++;
            }
          }
        }),
      );
      elapsed += (performance.now() - started) / 1000;
      toUs = Number(process.hrtime.bigint() / 1000n);
      const client = process.cpuUsage(clientBefore);
      cpu.client += (client.user + client.system) / 1e6;
      cpu.server += (await target.cpuSeconds()) - serverCpuBefore;
      for (const [pid, after] of await backendCpu(server.databaseUrl, target.pgApplication)) {
        cpu.postgres += after - (pgBefore.get(pid) ?? 0);
      }
    },
    result: async () => {
      await pool.close();
      latencies.sort((a, b) => a - b);
      const perLabel = (cpuSeconds: number) => (labels > 0 ? round((cpuSeconds * 1000) / labels, 3) : 0);
      return {
        labelsPerSecond: Math.round(labels / elapsed),
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        requests: latencies.length,
        errors,
        labels,
        fromUs,
        toUs,
        cpuMsPerLabel: {
          server: perLabel(cpu.server),
          postgres: perLabel(cpu.postgres),
          load_generator: perLabel(cpu.client),
        },
      };
    },
  };
}

/**
 * One phase: a fresh project per target (imported, then settled together), then `rounds` rounds of
 * `seconds / rounds` each, alternating the order (A B, B A, A B, ...) so that a change in the machine's
 * background load falls on both targets alike. `swap` imports and starts with the second target instead
 * (the phases alternate it). Results come back in the order of `targets`.
 */
async function phase(
  server: BenchServer,
  targets: Target[],
  keys: string[],
  limit: number,
  seconds: number,
  rounds: number,
  swap = false,
): Promise<PhaseResult[]> {
  const order = swap ? [...targets].reverse() : targets;
  const runners: Runner[] = [];
  for (const target of order) runners.push(await prepare(server, target, keys, limit));
  // Measure labeling, not autovacuum catching up with the bulk loads that just happened.
  if (process.env.BENCH_SETTLE !== '0') await server.settle();
  for (let i = 0; i < rounds; i++) {
    for (const runner of i % 2 === 0 ? runners : [...runners].reverse()) await runner.round(seconds / rounds);
  }
  const results: PhaseResult[] = [];
  for (const target of targets) {
    const result = await runners[order.indexOf(target)].result();
    report(target.name, limit, result);
    results.push(result);
  }
  return results;
}

function report(name: string, limit: number, result: PhaseResult): void {
  const shown: Partial<PhaseResult> = { ...result };
  delete shown.fromUs;
  delete shown.toUs;
  process.stdout.write(`${name} limit=${limit}: ${JSON.stringify(shown)}\n`);
}

/** Self time per layer in milliseconds per label, plus the heaviest files, for one profiled process. */
function perLabel(summary: ProfileSummary, labels: number) {
  const msPerLabel = (ms: number) => round(ms / labels, 4);
  return {
    labels,
    busy_ms_per_label: msPerLabel(summary.busy_ms),
    layers_ms_per_label: Object.fromEntries(summary.layers.map((row) => [row.where, msPerLabel(row.ms)])),
    by_caller_ms_per_label: Object.fromEntries(
      summary.layers_by_caller.map((row) => [row.where, msPerLabel(row.ms)]),
    ),
    top_files: summary.files.slice(0, 15).map((row) => ({ where: row.where, share: row.share })),
  };
}

function readProfile(dir: string): CpuProfile {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
}

/**
 * A phase at PROFILE_LIMIT against a second service process and bare server, both under `--cpu-prof`
 * (profiling slows them, so its throughput is not reported): where each spends its CPU per label.
 */
async function profile(seconds: number) {
  const kept = process.env.BENCH_API_PROFILE_DIR;
  const dir = kept ? resolve(kept) : mkdtempSync(join(tmpdir(), 'bench-api-prof-'));
  const savedArgs = process.env.BENCH_SERVER_NODE_ARGS;
  process.env.BENCH_SERVER_NODE_ARGS = `${savedArgs ?? ''} --cpu-prof --cpu-prof-dir=${join(dir, 'api')}`;
  let server: BenchServer | undefined;
  let bare: BareServer | undefined;
  try {
    server = await startBenchServer(PROFILE_PORT, { SHUTDOWN_DELAY_MS: '0' });
    process.env.BENCH_SERVER_NODE_ARGS = savedArgs;
    if (savedArgs === undefined) delete process.env.BENCH_SERVER_NODE_ARGS;
    bare = await startBareServer(PROFILE_BARE_PORT, server.databaseUrl, [
      '--cpu-prof',
      `--cpu-prof-dir=${join(dir, 'bare')}`,
    ]);
    const keys = await createKeys(server);
    process.stdout.write('profiled (throughput not comparable):\n');
    const [apiRun, bareRun] = await phase(
      server,
      [serviceTarget(server), bareTarget(bare)],
      keys,
      PROFILE_LIMIT,
      seconds,
      1,
    );
    await bare.stop();
    bare = undefined;
    await server.stop();
    server = undefined;
    const window = (result: PhaseResult) => ({ root: ROOT, fromUs: result.fromUs, toUs: result.toUs });
    if (kept) {
      // For scripts/cpu-profile-summary.ts --from/--to.
      writeFileSync(
        join(dir, 'windows.json'),
        JSON.stringify({ api: window(apiRun), bare: window(bareRun) }),
      );
    }
    const apiSummary = summarizeCpuProfile(readProfile(join(dir, 'api')), window(apiRun));
    const bareSummary = summarizeCpuProfile(readProfile(join(dir, 'bare')), window(bareRun));
    const api = perLabel(apiSummary, apiRun.labels);
    const bareProfile = perLabel(bareSummary, bareRun.labels);
    // What the service spends per label beyond the bare server, by the layer that asked for the work.
    const extra = Object.entries(api.by_caller_ms_per_label)
      .map(([layer, ms]): [string, number] => [
        layer,
        round(ms - (bareProfile.by_caller_ms_per_label[layer] ?? 0), 4),
      ])
      .sort((a, b) => b[1] - a[1]);
    return {
      api_extra_ms_per_label_by_caller: Object.fromEntries(extra),
      api,
      bare: bareProfile,
    };
  } finally {
    await bare?.stop();
    await server?.stop();
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const server = await startBenchServer(PORT);
  const bare = await startBareServer(BARE_PORT, server.databaseUrl);
  const results: Record<string, PhaseResult> = {};
  try {
    const keys = await createKeys(server);
    for (const limit of [10, 1]) {
      const targets = [serviceTarget(server), bareTarget(bare)];
      const measured = await phase(server, targets, keys, limit, SECONDS, ROUNDS, limit === 1);
      for (const [i, target] of targets.entries()) results[`${target.name}-${limit}`] = measured[i];
    }
  } finally {
    await bare.stop();
    await server.stop();
  }
  const profiled = PROFILE_SECONDS > 0 ? await profile(PROFILE_SECONDS) : null;
  const batched = results['api-10'];
  const single = results['api-1'];
  const bareBatched = results['bare-10'];
  const bareSingle = results['bare-1'];
  writeResult('api', {
    labels_per_s: batched.labelsPerSecond,
    p50_ms: batched.p50,
    p99_ms: batched.p99,
    errors: batched.errors + single.errors,
    labels_per_s_single: single.labelsPerSecond,
    p50_ms_single: single.p50,
    p99_ms_single: single.p99,
    requests: batched.requests + single.requests,
    bare_labels_per_s: bareBatched.labelsPerSecond,
    bare_p99_ms: bareBatched.p99,
    bare_labels_per_s_single: bareSingle.labelsPerSecond,
    bare_p99_ms_single: bareSingle.p99,
    bare_errors: bareBatched.errors + bareSingle.errors,
    ratio_vs_bare: round(batched.labelsPerSecond / bareBatched.labelsPerSecond, 2),
    ratio_vs_bare_single: round(single.labelsPerSecond / bareSingle.labelsPerSecond, 2),
    cpu_ms_per_label: {
      api: batched.cpuMsPerLabel,
      bare: bareBatched.cpuMsPerLabel,
      api_single: single.cpuMsPerLabel,
      bare_single: bareSingle.cpuMsPerLabel,
    },
    profile: profiled && {
      method: `a separate ${PROFILE_SECONDS} s phase at limit=${PROFILE_LIMIT} (one round each) against a second service process and bare server, both under node --cpu-prof, which slows them (their throughput is not a result); samples of the load window only, in ms per label written. The samples are the main thread's wall time while not idle, so a socket write counts with the time its process waited for the core inside it; cpu_ms_per_label above is the CPU time. layers: self time, a builtin counted for the package that called it; by_caller: node core (sockets, streams, http) counted for the package that called into it; "(program)" is V8 and native code outside JavaScript`,
      ...profiled,
    },
    protocol: `${LOOPS} concurrent annotator loops (one API key each) for ${SECONDS} s per phase on 127.0.0.1; a loop leases tasks/next?limit=10 (limit=1 for _single) then annotates each task; latency per request; each phase runs against labelloop's API role alone and against bench/support/bare-server.ts (Fastify + pg, the same lease, queue top-up and annotate SQL, same pool size), each on its own freshly imported project of the same database (settled together), taking turns in ${ROUNDS} rounds (A B, B A, ...) so background load falls on both alike (the limit=10 phase imports and starts with the service, the limit=1 phase with the bare server); PostgreSQL and the load generator on the same machine; ${ITEMS} text items per project; cpu_ms_per_label: CPU of the server process, of its PostgreSQL backends and of the load generator per label written`,
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
