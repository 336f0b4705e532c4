import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../db.tokens';
import { LOCK_QUEUE_SQL, topUpQueue } from './cold-start-queue';
import { HOLDOUT_QUEUEABLE, HOLDOUT_SHARE } from './holdout-queue';

export interface LeasedTask {
  id: string;
  itemId: string;
  externalId: string;
  payload: unknown;
  objectKey: string | null;
  metadata: unknown;
  priority: number;
  preLabel: string | null;
  preLabelProb: number | null;
  leaseExpiresAt: Date;
  /** A holdout item's task (no pre-label). */
  holdout: boolean;
}

/** The tasks a lease took, and how many of them it meant to take from the holdout. */
export interface Lease {
  tasks: LeasedTask[];
  /** Null when nothing was leased (the lease could not tell). */
  holdoutWanted: number | null;
}

export interface TaskState {
  id: string;
  projectId: string;
  itemId: string;
  status: 'open' | 'leased' | 'done' | 'skipped';
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  labels: string[];
}

export interface AnnotationWritten {
  annotationId: string;
  seq: string;
  projectId: string;
  itemId: string;
  createdAt: Date;
}

/** A task a lease may take ($1: the project): open, or leased and expired. */
const LEASABLE = `project_id = $1 AND status IN ('open', 'leased') AND (status = 'open' OR lease_expires_at < now())`;

// Takes the best open tasks (or tasks whose lease ran out) that nobody else is
// taking at this instant: SKIP LOCKED makes concurrent callers pick disjoint rows.
// `wanted` of the $4 are holdout tasks (holdout-queue.ts): $5, or the project's holdout share of $4, rounded up
// or down at random so that leases of any size average the share. The pool fills the rest, best priority first.
// When the holdout part comes up short while holdout items remain to be queued, the pool leaves those slots
// empty, so the lease is short and the caller tops the queue up and leases again ($6): that call takes whatever
// is left, holdout too, so a pool that ran dry does not starve the holdout (and the other way round).
// The ids go through ARRAY(...) so that the cached generic plan of this prepared
// statement knows it updates a handful of rows by primary key; as a CTE join with
// `LIMIT $4` the generic plan hash-joined whole tables (127 ms instead of 1.5 ms).
export const LEASE_SQL = `
WITH share AS (
  SELECT least($4::int, coalesce($5::int, floor($4::int * ${HOLDOUT_SHARE} + random())::int, 0)) AS wanted
  FROM (SELECT 1) one LEFT JOIN projects p ON p.id = $1
), held AS (
  SELECT id FROM tasks WHERE ${LEASABLE} AND holdout
  ORDER BY priority DESC LIMIT (SELECT wanted FROM share)
  FOR UPDATE SKIP LOCKED
), reserved AS (
  SELECT CASE
    WHEN NOT $6::boolean AND (SELECT count(*) FROM held) < (SELECT wanted FROM share) AND ${HOLDOUT_QUEUEABLE}
    THEN (SELECT wanted FROM share) ELSE (SELECT count(*) FROM held) END AS slots
), pooled AS (
  SELECT id FROM tasks WHERE ${LEASABLE} AND NOT holdout
  ORDER BY priority DESC LIMIT greatest(0, $4::int - (SELECT slots FROM reserved))
  FOR UPDATE SKIP LOCKED
), spare AS (
  SELECT id FROM tasks WHERE ${LEASABLE} AND holdout AND $6::boolean AND NOT (id = ANY(ARRAY(SELECT id FROM held)))
  ORDER BY priority DESC LIMIT greatest(0, $4::int - (SELECT count(*) FROM held) - (SELECT count(*) FROM pooled))
  FOR UPDATE SKIP LOCKED
), leased AS (
  UPDATE tasks t SET status = 'leased', lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3),
         updated_at = now()
  WHERE t.id = ANY(ARRAY(SELECT id FROM held UNION ALL SELECT id FROM pooled UNION ALL SELECT id FROM spare))
  RETURNING t.id, t.item_id, t.priority, t.pre_label, t.pre_label_prob, t.lease_expires_at, t.holdout
)
SELECT l.id, l.item_id, i.external_id, i.payload, i.object_key, i.metadata, l.priority, l.pre_label,
       l.pre_label_prob, l.lease_expires_at, l.holdout, (SELECT wanted FROM share) AS holdout_wanted
FROM leased l JOIN items i ON i.id = l.item_id
ORDER BY l.priority DESC`;

// Closes the caller's leased task, appends the annotation and refreshes the item's
// label cache in one statement, so either all three happen or none does. The label
// check against the project's label set is part of the WHERE clause.
export const ANNOTATE_SQL = `
WITH closed AS (
  UPDATE tasks t SET status = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
  FROM projects p
  WHERE t.id = $1 AND t.status = 'leased' AND t.lease_owner = $2 AND p.id = t.project_id AND $3 = ANY(p.labels)
    AND ($6::uuid IS NULL OR t.project_id = $6::uuid)
  RETURNING t.project_id, t.item_id
), written AS (
  INSERT INTO annotations (project_id, item_id, label, annotator, lead_time_ms, source)
  SELECT project_id, item_id, $3, $4, $5, 'human' FROM closed
  RETURNING id, seq, project_id, item_id, created_at
), relabeled AS (
  UPDATE items SET label = $3, labeled_at = written.created_at FROM written
  WHERE items.id = written.item_id AND (items.labeled_at IS NULL OR items.labeled_at <= written.created_at)
)
SELECT id, seq::text, project_id, item_id, created_at FROM written`;

/** A task the scorer puts in the queue: its acquisition score and the model's guess. */
export interface RankedTask {
  itemId: string;
  priority: number;
  preLabel: string;
  preLabelProb: number;
}

// The scorer's ranking replaces the open pool part of the queue: open tasks outside the ranking (or of items
// labeled meanwhile) go, ranked items get an open task or their open task is rewritten. Leased, done and
// skipped tasks are left as they are (a lease in progress keeps its task and pre-label), and so is the holdout
// part, which the scorer does not rank (holdout-queue.ts).
const DROP_UNRANKED_SQL = `
DELETE FROM tasks t USING items i
WHERE t.project_id = $1 AND t.status = 'open' AND NOT t.holdout AND i.id = t.item_id
  AND (i.label IS NOT NULL OR NOT (t.item_id = ANY($2::uuid[])))`;

const UPSERT_RANKED_SQL = `
INSERT INTO tasks (project_id, item_id, priority, pre_label, pre_label_prob)
SELECT $1, u.item_id, u.priority, u.pre_label, u.pre_label_prob
FROM unnest($2::uuid[], $3::float8[], $4::text[], $5::float8[]) AS u(item_id, priority, pre_label, pre_label_prob)
JOIN items i ON i.id = u.item_id AND i.project_id = $1 AND i.label IS NULL AND i.deleted_at IS NULL
ON CONFLICT (item_id) DO UPDATE SET priority = EXCLUDED.priority, pre_label = EXCLUDED.pre_label,
  pre_label_prob = EXCLUDED.pre_label_prob, updated_at = now()
WHERE tasks.status = 'open'`;

// The outer status check is not redundant: a lease that took one of the chosen tasks after the list was read
// commits before the delete can lock the row, and PostgreSQL re-checks only the outer WHERE on the new row
// version. Without it the delete removed a task just leased to a client (whose annotation then got a 404).
const TRIM_OPEN_SQL = `
DELETE FROM tasks WHERE status = 'open' AND id = ANY(ARRAY(
  SELECT id FROM tasks WHERE project_id = $1 AND status = 'open' AND NOT holdout ORDER BY priority DESC, id OFFSET $2))`;

// The hot statements run as named prepared statements: each connection plans them
// once instead of on every call, which halved the per-request time of lease and annotate.
@Injectable()
export class TasksRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Leases up to `limit` tasks, `holdout` of them (default: the project's holdout share) from the holdout part
   * of the queue. `refilled`: the queue was just topped up, so take whatever is left (see LEASE_SQL).
   */
  async lease(
    projectId: string,
    owner: string,
    leaseSeconds: number,
    limit: number,
    options: { holdout?: number; refilled?: boolean } = {},
  ): Promise<Lease> {
    const result = await this.pool.query({
      name: 'tasks.lease',
      text: LEASE_SQL,
      values: [projectId, owner, leaseSeconds, limit, options.holdout ?? null, options.refilled ?? false],
    });
    const tasks = result.rows.map((row) => ({
      id: row.id,
      itemId: row.item_id,
      externalId: row.external_id,
      payload: row.payload,
      objectKey: row.object_key,
      metadata: row.metadata,
      priority: row.priority,
      preLabel: row.pre_label,
      preLabelProb: row.pre_label_prob,
      leaseExpiresAt: row.lease_expires_at,
      holdout: row.holdout,
    }));
    return { tasks, holdoutWanted: result.rows[0]?.holdout_wanted ?? null };
  }

  /**
   * Tops the queue up to `target` open and leased pool tasks (cold-start order before a model, the promoted
   * model's predictions after) and its holdout part to the holdout share of `target`; returns how many were added.
   */
  async topUpQueue(projectId: string, target: number): Promise<number> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const added = await topUpQueue(client, projectId, target);
      await client.query('COMMIT');
      return added;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Rewrites the project's open tasks to `ranked` in one transaction, under the same per-project lock as
   * the cold-start fill. Returns how many tasks were removed and how many written.
   */
  async rewriteQueue(
    projectId: string,
    ranked: readonly RankedTask[],
  ): Promise<{ removed: number; written: number }> {
    const ids = ranked.map((r) => r.itemId);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(LOCK_QUEUE_SQL, [projectId]);
      const removed = await client.query(DROP_UNRANKED_SQL, [projectId, ids]);
      const written = await client.query(UPSERT_RANKED_SQL, [
        projectId,
        ids,
        ranked.map((r) => r.priority),
        ranked.map((r) => r.preLabel),
        ranked.map((r) => r.preLabelProb),
      ]);
      await client.query('COMMIT');
      return { removed: removed.rowCount ?? 0, written: written.rowCount ?? 0 };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Adds ranked items (scored after the queue was ranked) to the open queue without rewriting it, then
   * trims the open pool tasks back to `queueSize` by dropping their lowest priorities. An item's open task (e.g.
   * one a short lease added unscored) takes the new ranking; leased, done, skipped and holdout tasks and labeled
   * items are left alone. Same lock as rewriteQueue.
   */
  async joinQueue(
    projectId: string,
    ranked: readonly RankedTask[],
    queueSize: number,
  ): Promise<{ removed: number; written: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(LOCK_QUEUE_SQL, [projectId]);
      const written = await client.query(UPSERT_RANKED_SQL, [
        projectId,
        ranked.map((r) => r.itemId),
        ranked.map((r) => r.priority),
        ranked.map((r) => r.preLabel),
        ranked.map((r) => r.preLabelProb),
      ]);
      const removed = await client.query(TRIM_OPEN_SQL, [projectId, queueSize]);
      await client.query('COMMIT');
      return { removed: removed.rowCount ?? 0, written: written.rowCount ?? 0 };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Null when nothing was written; `findState` then tells the caller why. */
  async annotate(input: {
    taskId: string;
    owner: string;
    label: string;
    annotator: string;
    leadTimeMs: number | null;
    scopeProjectId: string | null;
  }): Promise<AnnotationWritten | null> {
    const result = await this.pool.query({
      name: 'tasks.annotate',
      text: ANNOTATE_SQL,
      values: [
        input.taskId,
        input.owner,
        input.label,
        input.annotator,
        input.leadTimeMs,
        input.scopeProjectId,
      ],
    });
    const row = result.rows[0];
    if (!row) return null;
    return {
      annotationId: row.id,
      seq: row.seq,
      projectId: row.project_id,
      itemId: row.item_id,
      createdAt: row.created_at,
    };
  }

  async findState(taskId: string): Promise<TaskState | null> {
    const result = await this.pool.query(
      `SELECT t.id, t.project_id, t.item_id, t.status, t.lease_owner, t.lease_expires_at, p.labels
       FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.id = $1`,
      [taskId],
    );
    const row = result.rows[0];
    if (!row) return null;
    return {
      id: row.id,
      projectId: row.project_id,
      itemId: row.item_id,
      status: row.status,
      leaseOwner: row.lease_owner,
      leaseExpiresAt: row.lease_expires_at,
      labels: row.labels,
    };
  }

  /**
   * Ends the caller's lease: `skip` takes the task out of the queue (a rescoring leaves
   * skipped tasks alone), `release` puts it back for anyone. False when the caller
   * holds no lease on it.
   */
  async endLease(taskId: string, owner: string, outcome: 'skipped' | 'open'): Promise<boolean> {
    const result = await this.pool.query({
      name: 'tasks.end-lease',
      text: `UPDATE tasks SET status = $3::"TaskStatus", lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
             WHERE id = $1 AND status = 'leased' AND lease_owner = $2`,
      values: [taskId, owner, outcome],
    });
    return (result.rowCount ?? 0) > 0;
  }

  /** Open and actively leased tasks per project, for the metrics gauges. */
  async queueDepths(): Promise<{ projectId: string; open: number; leased: number }[]> {
    const result = await this.pool.query(
      `SELECT project_id,
              count(*) FILTER (WHERE status = 'open' OR lease_expires_at < now())::int AS open,
              count(*) FILTER (WHERE status = 'leased' AND lease_expires_at >= now())::int AS leased
       FROM tasks WHERE status IN ('open', 'leased') GROUP BY project_id`,
    );
    return result.rows.map((row) => ({ projectId: row.project_id, open: row.open, leased: row.leased }));
  }
}
