-- Deleting an item keeps its row: dataset versions committed before the delete still export it (a version
-- never changes). The delete also appends a retraction to the annotation log, so versions committed after it
-- do not hold the item; everything that works on the current items (pool, queue, scoring, stats) skips rows
-- with deleted_at set.
ALTER TABLE "items" ADD COLUMN "deleted_at" TIMESTAMPTZ(3);
