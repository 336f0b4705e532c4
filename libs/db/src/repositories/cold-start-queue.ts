import type { PoolClient } from 'pg';

// Before a model ranks the pool, the queue holds up to `target` open tasks taken in
// the project's seeded random order. Keeping the queue bounded (instead of one task
// per item) keeps imports cheap; leasing tops it up when it runs short. Items that
// already have a task (skipped, done, or open) are not queued again. Once a model is promoted the scorer
// owns the queue's order, so nothing is added (a refill would put random items above its ranking).
const FILL_SQL = `
INSERT INTO tasks (project_id, item_id, priority)
SELECT i.project_id, i.id, i.cold_priority FROM items i
WHERE i.project_id = $1 AND i.label IS NULL AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM model_versions m WHERE m.project_id = $1 AND m.promoted)
ORDER BY i.cold_priority DESC
LIMIT greatest(0, $2 - (SELECT count(*) FROM tasks WHERE project_id = $1 AND status IN ('open', 'leased')))
ON CONFLICT (item_id) DO NOTHING`;

/** Must run inside a transaction; a per-project advisory lock makes concurrent fills take turns. */
export async function fillColdStartQueue(
  client: PoolClient,
  projectId: string,
  target: number,
): Promise<number> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [projectId]);
  const result = await client.query(FILL_SQL, [projectId, target]);
  return result.rowCount ?? 0;
}
