-- A deleted label is a retraction: a new annotation whose label is NULL. The log
-- stays append-only; an item whose newest annotation is a retraction is unlabeled.
ALTER TABLE "annotations" ALTER COLUMN "label" DROP NOT NULL;
