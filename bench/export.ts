import { hash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Pool } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { ItemImportSession, type NewItemRow } from '@labelloop/db';
import { api, BENCH_ADMIN_KEY, startBenchServer } from './support/server';
import { writeResult } from './support/results';

// `npm run bench:export`: a version of 200k labels exported as JSONL over HTTP from the
// API process, with the server's peak resident memory during the export.
const ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 200_000);
const PORT = 3905;
const LABELS = ['spam', 'ham', 'eggs'];

const BATCH = 5_000;

/**
 * Writes the labeled items straight through the repository layer (the import's own batch
 * statement: items plus one `import` annotation per label) from this process, so the server's
 * memory holds nothing of the set-up when the export starts.
 */
async function seedLabels(databaseUrl: string, projectId: string, count: number): Promise<void> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1 });
  const client = await pool.connect();
  await client.query('BEGIN');
  const session = new ItemImportSession(client, projectId, 'bench-importer');
  try {
    try {
      for (let start = 0; start < count; start += BATCH) await session.insertBatch(batchOf(start, count));
    } catch (error) {
      await session.rollback();
      throw error;
    }
    await session.commit();
    // settle() covers items and tasks; the export also reads the annotation log.
    await pool.query('VACUUM (ANALYZE) annotations');
  } finally {
    await pool.end();
  }
}

function batchOf(start: number, count: number): NewItemRow[] {
  const rows: NewItemRow[] = [];
  for (let i = start; i < Math.min(count, start + BATCH); i++) {
    const payloadJson = JSON.stringify({ text: `message number ${i} about the invoice` });
    rows.push({
      id: uuidv7(),
      externalId: `mail-${i}`,
      payloadJson,
      objectKey: null,
      contentHash: hash('sha256', payloadJson, 'hex'),
      split: 'pool',
      metadataJson: '{}',
      label: LABELS[i % LABELS.length],
      annotator: null,
      labeledAt: null,
      coldPriority: i / count,
    });
  }
  return rows;
}

/** The API server is this process's child running the built main.js (see support/server.ts). */
function serverPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (parent === process.pid && command.includes('apps/api/src/main.js')) return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  throw new Error('bench server process not found');
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+) kB`));
  if (!match) throw new Error(`${field} missing in /proc/${pid}/status`);
  return Number(match[1]);
}

interface ExportRun {
  rows: number;
  seconds: number;
  firstByteMs: number;
  bytes: number;
  rssBeforeKb: number;
  peakKb: number;
}

/** A fresh server with `count` labels committed as version 1, exported once as JSONL. */
async function measureExport(count: number): Promise<ExportRun> {
  const server = await startBenchServer(PORT);
  try {
    const project = await api(server.baseUrl, 'POST', '/v1/projects', {
      name: 'export bench',
      inputKind: 'text',
      labels: LABELS,
    });
    await seedLabels(server.databaseUrl, project.id, count);
    const version = await api(server.baseUrl, 'POST', `/v1/projects/${project.id}/versions`, {
      message: 'bench',
    });
    await server.settle();

    const pid = serverPid();
    const rssBeforeKb = statusKb(pid, 'VmRSS');
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS, so the peak read
    // afterwards is the export's, not the set-up's. Sampling VmRSS backs it up.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    let sampledPeakKb = rssBeforeKb;
    const sampler = setInterval(() => {
      sampledPeakKb = Math.max(sampledPeakKb, statusKb(pid, 'VmRSS'));
    }, 20);

    const started = performance.now();
    const response = await fetch(
      `${server.baseUrl}/v1/projects/${project.id}/versions/${version.number}/export`,
      { headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}` } },
    );
    if (!response.ok || !response.body) throw new Error(`export failed: ${response.status}`);
    let firstByteMs: number | null = null;
    let lines = 0;
    let bytes = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      firstByteMs ??= performance.now() - started;
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const peakKb = Math.max(statusKb(pid, 'VmHWM'), sampledPeakKb);
    if (lines !== count) throw new Error(`exported ${lines} lines, expected ${count}`);
    return { rows: lines, seconds, firstByteMs: firstByteMs ?? 0, bytes, rssBeforeKb, peakKb };
  } finally {
    await server.stop();
  }
}

const mb = (kb: number) => Math.round(kb / 1024);

async function main(): Promise<void> {
  // A tenth of the rows first, on its own server: a streamed export's memory must not grow with the rows.
  const small = await measureExport(Math.round(ROWS / 10));
  const full = await measureExport(ROWS);
  writeResult('export', {
    rows: full.rows,
    rows_per_s: Math.round(full.rows / full.seconds),
    peak_rss_mb: mb(full.peakKb),
    rss_before_export_mb: mb(full.rssBeforeKb),
    export_rss_increase_mb: mb(full.peakKb - full.rssBeforeKb),
    seconds: Math.round(full.seconds * 100) / 100,
    first_byte_ms: Math.round(full.firstByteMs),
    megabytes: Math.round(full.bytes / 1e5) / 10,
    tenth: {
      rows: small.rows,
      rows_per_s: Math.round(small.rows / small.seconds),
      peak_rss_mb: mb(small.peakKb),
      export_rss_increase_mb: mb(small.peakKb - small.rssBeforeKb),
    },
    protocol:
      `${ROWS} text items with a label each (3 labels) written from the bench process through the repository layer ` +
      "(ItemImportSession, the NDJSON import's batch statement: items + one import annotation per label, one " +
      'transaction) into a fresh API server, committed as a version through the API, tables vacuumed and analyzed; ' +
      'then one GET .../versions/1/export?format=jsonl read to the end by the client. peak_rss_mb is the API ' +
      'process VmHWM after resetting it (/proc/<pid>/clear_refs) right before the export, at least the VmRSS ' +
      'sampled every 20 ms; rss_before_export_mb is the idle server after set-up. `tenth`: the same with a tenth ' +
      'of the rows on its own fresh server. API process alone, PostgreSQL and client on the same machine.',
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
