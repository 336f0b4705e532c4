import { api, importNdjson, startBenchServer } from './support/server';
import { writeResult } from './support/results';

// `npm run bench:import`: 100k text items (~130 bytes each) in one streamed NDJSON request.
const ITEMS = Number(process.env.BENCH_IMPORT_ITEMS ?? 100_000);

const WORDS = [
  'offer',
  'meeting',
  'invoice',
  'free',
  'project',
  'winner',
  'report',
  'urgent',
  'lunch',
  'update',
];

// The body goes out in chunks of 500 lines, as a file upload would, so the load
// generator's per-chunk overhead does not compete with the server for the cores.
function* ndjsonChunks(count: number): Generator<string> {
  let chunk = '';
  for (let i = 0; i < count; i++) {
    const text = Array.from({ length: 14 }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]).join(' ');
    chunk += `${JSON.stringify({ externalId: `mail-${i}`, text: `${text} #${i}` })}\n`;
    if ((i + 1) % 500 === 0 || i === count - 1) {
      yield chunk;
      chunk = '';
    }
  }
}

async function main(): Promise<void> {
  const server = await startBenchServer(3901);
  try {
    const project = await api(server.baseUrl, 'POST', '/v1/projects', {
      name: 'import bench',
      inputKind: 'text',
      labels: ['spam', 'ham'],
    });
    const started = performance.now();
    const response = await importNdjson(server.baseUrl, project.id, ndjsonChunks(ITEMS));
    const result = (await response.json()) as { created?: number };
    const seconds = (performance.now() - started) / 1000;
    if (!response.ok || result.created !== ITEMS) throw new Error(`import failed: ${JSON.stringify(result)}`);
    writeResult('import', {
      items: ITEMS,
      items_per_s: Math.round(ITEMS / seconds),
      seconds: Math.round(seconds * 100) / 100,
      protocol:
        'one NDJSON request streamed from the client in chunks of 500 lines, text items ~130 bytes, fresh project, API process alone, PostgreSQL and client on the same machine',
    });
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
