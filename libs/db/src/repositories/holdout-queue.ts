// The holdout's part of the labeling queue. Promotion is decided on the labeled holdout, so the holdout must keep
// growing while labeling goes on: every lease reserves a share of its tasks for holdout items, in the project's
// seeded random (cold-start) order. Holdout tasks carry no pre-label (the model must not suggest the labels it is
// measured on), and the scorer never ranks or removes them. The queue keeps a bounded supply of open holdout
// tasks (the share of its size), refilled like the rest of the queue when a lease finds it short.

/**
 * The share of a lease that goes to holdout items, over `projects p`: the project's `acquisitionSpec.holdoutShare`,
 * else its `holdoutFraction`, so by default holdout and pool items are labeled at the rate the split made them.
 */
export const HOLDOUT_SHARE = `coalesce((p.acquisition_spec ->> 'holdoutShare')::float8, p.holdout_fraction)`;

/** The unlabeled holdout items of project $1, seeded order first (items_holdout_queue_idx). */
const UNLABELED_HOLDOUT = `
FROM items i
WHERE i.project_id = $1 AND i.split = 'holdout' AND i.label IS NULL AND i.deleted_at IS NULL`;

/** Those a fill can queue: without a task (a skipped one keeps its task). */
const WITHOUT_TASK = `NOT EXISTS (SELECT 1 FROM tasks t WHERE t.item_id = i.id)`;

/** How many unlabeled holdout items a lease looks at to tell whether a fill could queue one. */
const HOLDOUT_PROBE = 500;

/**
 * Whether a fill could queue another holdout item, as far as the first HOLDOUT_PROBE unlabeled holdout items tell
 * (the open, leased and skipped ones come first in the seeded order, as the fills took them in that order): a
 * lease asks on every call while the holdout part is short, so it reads a bounded stretch of the index, and once
 * the holdout is labeled nothing at all. Beyond that many skipped holdout items, the holdout part is refilled
 * when the pool's part runs short. (An EXISTS would not do: PostgreSQL drops its ORDER BY and LIMIT, and the
 * lease's generic plan then scanned every item of the table.)
 */
export const HOLDOUT_QUEUEABLE = `
(SELECT true FROM (SELECT i.id ${UNLABELED_HOLDOUT} ORDER BY i.cold_priority DESC LIMIT ${HOLDOUT_PROBE}) i
 WHERE ${WITHOUT_TASK} LIMIT 1) IS NOT NULL`;

/** Open and leased holdout tasks up to the holdout share of `$2` (the queue's size). */
export const FILL_HOLDOUT_SQL = `
INSERT INTO tasks (project_id, item_id, priority, holdout)
SELECT i.project_id, i.id, i.cold_priority, true ${UNLABELED_HOLDOUT} AND ${WITHOUT_TASK}
ORDER BY i.cold_priority DESC
LIMIT greatest(0,
  (SELECT ceil($2::int * ${HOLDOUT_SHARE})::int FROM projects p WHERE p.id = $1)
  - (SELECT count(*) FROM tasks WHERE project_id = $1 AND holdout AND status IN ('open', 'leased')))
ON CONFLICT (item_id) DO NOTHING`;
