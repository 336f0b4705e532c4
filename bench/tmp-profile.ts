import { Client, Pool } from 'pg';
import { v7 } from 'uuid';
import { applyMigrations, ItemImportSession } from '@labelloop/db';
async function main() {
  const admin = new Client({ connectionString: 'postgresql://postgres@127.0.0.1:5432/postgres' });
  await admin.connect(); await admin.query('DROP DATABASE IF EXISTS prof'); await admin.query('CREATE DATABASE prof'); await admin.end();
  const url = 'postgresql://postgres@127.0.0.1:5432/prof';
  await applyMigrations(url);
  const pool = new Pool({ connectionString: url });
  const p = await pool.query(`INSERT INTO projects (name, input_kind, labels, model_spec, acquisition_spec, holdout_fraction, seed) VALUES ('p','text','{a,b}','{}','{}',0.1,1) RETURNING id`);
  const pid = p.rows[0].id;
  const rows = Array.from({ length: 100000 }, (_, i) => ({ id: v7(), externalId: `m-${i}`, payloadJson: JSON.stringify({ text: 'offer meeting invoice free project winner report urgent lunch update offer meeting #' + i }), objectKey: null, contentHash: 'a'.repeat(64), split: 'pool' as const, metadataJson: '{}', label: null, coldPriority: Math.random() }));
  const client = await pool.connect(); await client.query('BEGIN');
  const s = new ItemImportSession(client, pid, 'x');
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += 5000) await s.insertBatch(rows.slice(i, i + 5000));
  const t1 = performance.now();
  await s.fillColdStartQueue(1000);
  const t2 = performance.now();
  await s.commit();
  console.log('insert ms', t1 - t0, 'fill', t2 - t1, 'commit ms', performance.now() - t2);
  await pool.end();
}
main();
