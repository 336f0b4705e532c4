import { Pool } from 'undici';
import { api, importNdjson, startBenchServer, type BenchServer } from './support/server';
import { writeResult } from './support/results';

// `npm run bench:api`: 16 concurrent annotator loops for 30 s each against the API on
// 127.0.0.1. A loop leases a batch (tasks/next?limit=10, then limit=1 for the
// `_single` figure) and annotates every task it got. Latency is per HTTP request.
const LOOPS = 16;
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 30);
const ITEMS = Number(process.env.BENCH_API_ITEMS ?? 80_000);
const PORT = 3902;

// undici's pool keeps the load generator's own cost per request low, so the machine's
// two cores go to the service and PostgreSQL rather than to the client.
const pool = new Pool(`http://127.0.0.1:${PORT}`, { connections: LOOPS });

async function call(method: string, path: string, key: string, body?: string) {
  const response = await pool.request({
    method: method as 'GET' | 'POST',
    path,
    headers: body
      ? { authorization: `Bearer ${key}`, 'content-type': 'application/json' }
      : { authorization: `Bearer ${key}` },
    body,
  });
  return { status: response.statusCode, body: await response.body.text() };
}

async function setUpProject(baseUrl: string, name: string): Promise<string> {
  const project = await api(baseUrl, 'POST', '/v1/projects', {
    name,
    inputKind: 'text',
    labels: ['spam', 'ham'],
  });
  const lines = function* () {
    for (let i = 0; i < ITEMS; i++)
      yield `${JSON.stringify({ externalId: `${name}-${i}`, text: `message ${i}` })}\n`;
  };
  const response = await importNdjson(baseUrl, project.id, lines());
  if (!response.ok) throw new Error(`import failed: ${await response.text()}`);
  return project.id;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(server: BenchServer, limit: number) {
  const baseUrl = server.baseUrl;
  const projectId = await setUpProject(baseUrl, `bench-limit-${limit}`);
  // Measure labeling, not autovacuum catching up with the bulk load that just happened.
  if (process.env.BENCH_SETTLE !== '0') await server.settle();
  const keys: string[] = [];
  for (let i = 0; i < LOOPS; i++) {
    keys.push(
      (await api(baseUrl, 'POST', '/v1/api-keys', { name: `annotator-${i}`, role: 'annotator' })).key,
    );
  }
  const latencies: number[] = [];
  let labels = 0;
  let errors = 0;
  const timed = async (method: string, path: string, key: string, body?: string) => {
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
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
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
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    labelsPerSecond: Math.round(labels / elapsed),
    p50: Math.round(percentile(latencies, 50) * 10) / 10,
    p99: Math.round(percentile(latencies, 99) * 10) / 10,
    requests: latencies.length,
    errors,
  };
}

async function main(): Promise<void> {
  const server = await startBenchServer(PORT);
  try {
    const batched = await run(server, 10);
    process.stdout.write(`limit=10: ${JSON.stringify(batched)}\n`);
    const single = await run(server, 1);
    process.stdout.write(`limit=1: ${JSON.stringify(single)}\n`);
    writeResult('api', {
      labels_per_s: batched.labelsPerSecond,
      p50_ms: batched.p50,
      p99_ms: batched.p99,
      errors: batched.errors + single.errors,
      labels_per_s_single: single.labelsPerSecond,
      p50_ms_single: single.p50,
      p99_ms_single: single.p99,
      requests: batched.requests + single.requests,
      protocol: `${LOOPS} concurrent annotator loops (one API key each) for ${SECONDS} s per phase on 127.0.0.1; a loop leases tasks/next?limit=10 (limit=1 for _single) then annotates each task; latency per request; API role alone, PostgreSQL and the load generator on the same machine; ${ITEMS} text items per phase`,
    });
  } finally {
    await pool.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
