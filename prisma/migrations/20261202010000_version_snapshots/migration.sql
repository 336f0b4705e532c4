-- A dataset version is the annotations up to its watermark that were committed when it froze: the version
-- keeps the freeze's snapshot, and each annotation the transaction that wrote it. An annotation whose
-- transaction was still open then (an import) never becomes part of the version, whenever it commits, so a
-- version cannot change after the fact and a freeze waits for no one.
-- Rows written before this migration have no xid: they were settled by the old freeze, which waited.
ALTER TABLE "annotations" ADD COLUMN "xid" xid8;
ALTER TABLE "annotations" ALTER COLUMN "xid" SET DEFAULT pg_current_xact_id();
CREATE INDEX "annotations_xid_idx" ON "annotations"("xid");
ALTER TABLE "dataset_versions" ADD COLUMN "snapshot" pg_snapshot;
