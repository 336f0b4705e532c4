import type { PoolClient } from 'pg';
import { FILL_HOLDOUT_SQL } from './holdout-queue';

/** Priority of a task whose item has no prediction yet: below every acquisition score (those are >= 0). */
export const UNSCORED_PRIORITY = -1;

/** Open and leased tasks of pool items ($1: the project): what the fills below count against their target. */
const POOL_TASKS = `(SELECT count(*) FROM tasks WHERE project_id = $1 AND NOT holdout AND status IN ('open', 'leased'))`;

// Before a model ranks the pool, the queue holds up to `target` open tasks of pool items taken in
// the project's seeded random order (holdout items have their own part of the queue, see holdout-queue.ts). Keeping the queue bounded (instead of one task
// per item) keeps imports cheap; leasing tops it up when it runs short. Items that
// already have a task (skipped, done, or open) are not queued again. Once a model is promoted the scorer
// owns the queue's order, so nothing is added (a refill would put random items above its ranking).
const FILL_SQL = `
INSERT INTO tasks (project_id, item_id, priority)
SELECT i.project_id, i.id, i.cold_priority FROM items i
WHERE i.project_id = $1 AND i.label IS NULL AND i.split = 'pool' AND i.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM model_versions m WHERE m.project_id = $1 AND m.promoted)
ORDER BY i.cold_priority DESC
LIMIT greatest(0, $2 - ${POOL_TASKS})
ON CONFLICT (item_id) DO NOTHING`;

// Once a model is promoted the queue is the scorer's ranking. When leases drain it below `target` before the
// next scoring, it is topped up from the predictions already written (unlabeled pool items without a task,
// most worth labeling first, with the model's guess), so it never starves while scored items remain.
const FILL_RANKED_SQL = `
INSERT INTO tasks (project_id, item_id, priority, pre_label, pre_label_prob)
SELECT p.project_id, p.item_id, p.uncertainty, p.label, p.probability FROM predictions p
JOIN items i ON i.id = p.item_id
WHERE p.project_id = $1 AND i.label IS NULL AND i.split = 'pool' AND i.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = p.item_id)
  AND EXISTS (SELECT 1 FROM model_versions m WHERE m.project_id = $1 AND m.promoted)
ORDER BY p.uncertainty DESC
LIMIT greatest(0, $2 - ${POOL_TASKS})
ON CONFLICT (item_id) DO NOTHING`;

// When the predictions run out before the scorer catches up (labeling faster than scoring, or items imported
// since the last pass), unlabeled pool items without a prediction fill the rest in the seeded cold-start order,
// below every scored task (acquisition scores are >= 0): an unranked task is better than none.
const FILL_UNSCORED_SQL = `
INSERT INTO tasks (project_id, item_id, priority)
SELECT i.project_id, i.id, ${UNSCORED_PRIORITY} FROM items i
WHERE i.project_id = $1 AND i.label IS NULL AND i.split = 'pool' AND i.deleted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.item_id = i.id)
ORDER BY i.cold_priority DESC
LIMIT greatest(0, $2 - ${POOL_TASKS})
ON CONFLICT (item_id) DO NOTHING`;

/** The per-project lock every change of the open queue's membership takes (fills, top-ups, rewrites). */
const QUEUE_LOCK_KEY = 'hashtextextended($1::text, 0)';

/** How long a lease waits for another request's fill of the queue before it leases what is there. */
const FILL_WAIT_MS = 100;

/** Takes the project's queue lock ($1: the project id) until the transaction ends. */
export const LOCK_QUEUE_SQL = `SELECT pg_advisory_xact_lock(${QUEUE_LOCK_KEY})`;

/**
 * The fill after an import: the cold-start queue (before a model) and the holdout part (always), so new items
 * are ready to hand out. Must run inside a transaction; the per-project queue lock makes concurrent fills take turns.
 */
export async function fillColdStartQueue(
  client: PoolClient,
  projectId: string,
  target: number,
): Promise<number> {
  await client.query(LOCK_QUEUE_SQL, [projectId]);
  const holdout = await client.query(FILL_HOLDOUT_SQL, [projectId, target]);
  const cold = await client.query(FILL_SQL, [projectId, target]);
  return (holdout.rowCount ?? 0) + (cold.rowCount ?? 0);
}

/**
 * Tops the queue up to `target` open and leased tasks of pool items: in cold-start order before any model; after
 * one from the promoted model's predictions, then (when they run out) from the items without a prediction. The
 * holdout part is topped up to its share of `target` (holdout-queue.ts). Must run inside a transaction. Returns
 * the tasks this call added.
 *
 * When the queue runs dry every lease finds it short at once. Only one of them fills it: the others find the
 * queue lock taken and wait, in shared mode and for at most FILL_WAIT_MS, for that fill (or a scorer's
 * rewrite) to commit, then add nothing and lease what it added (or come back short, and the client asks
 * again). Taking turns at the fill instead queued every lease behind the one before (under 16 labeling loops,
 * eight backends waited on the lock at any moment and a queue rewrite waited seconds).
 */
export async function topUpQueue(client: PoolClient, projectId: string, target: number): Promise<number> {
  const { rows } = await client.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_xact_lock(${QUEUE_LOCK_KEY}) AS locked`,
    [projectId],
  );
  if (!rows[0].locked) {
    await client.query(`SET LOCAL lock_timeout = ${FILL_WAIT_MS}`);
    try {
      await client.query(`SELECT pg_advisory_xact_lock_shared(${QUEUE_LOCK_KEY})`, [projectId]);
    } catch (error) {
      // lock_not_available: the fill takes longer; the transaction is over (its COMMIT rolls back).
      if ((error as { code?: string }).code !== '55P03') throw error;
    }
    return 0;
  }
  const holdout = (await client.query(FILL_HOLDOUT_SQL, [projectId, target])).rowCount ?? 0;
  const cold = (await client.query(FILL_SQL, [projectId, target])).rowCount ?? 0;
  if (cold > 0) return holdout + cold;
  const ranked = (await client.query(FILL_RANKED_SQL, [projectId, target])).rowCount ?? 0;
  const unscored = (await client.query(FILL_UNSCORED_SQL, [projectId, target])).rowCount ?? 0;
  return holdout + ranked + unscored;
}
