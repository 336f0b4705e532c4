-- Holdout items get their own share of every lease (so the holdout keeps growing as labeling goes on), so a
-- task says which part of the queue it belongs to: the lease takes its holdout share and its pool share by two
-- index scans of tasks_queue_idx, and the scorer's rewrites leave the holdout part alone. An item's split never
-- changes, so the flag is set once, when the task is written.
ALTER TABLE "tasks" ADD COLUMN "holdout" BOOLEAN NOT NULL DEFAULT false;
UPDATE "tasks" t SET "holdout" = true FROM "items" i WHERE i."id" = t."item_id" AND i."split" = 'holdout';

DROP INDEX "tasks_queue_idx";
CREATE INDEX "tasks_queue_idx" ON "tasks"("project_id", "holdout", "priority" DESC) WHERE "status" IN ('open', 'leased');

-- The holdout items a lease can still queue: unlabeled, in the seeded cold-start order.
CREATE INDEX "items_holdout_queue_idx" ON "items"("project_id", "cold_priority" DESC)
  WHERE "split" = 'holdout' AND "label" IS NULL AND "deleted_at" IS NULL;
