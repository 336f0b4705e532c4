-- Deleting an item cascades to its annotations by item_id alone: without an index leading on it, every
-- item of a project delete scanned the whole annotations table (39.6 s for 1,000 items among 278k rows).
CREATE INDEX "annotations_item_id_idx" ON "annotations"("item_id");

-- Deleting a model version cascades to the predictions and suspects it wrote.
CREATE INDEX "predictions_model_version_id_idx" ON "predictions"("model_version_id");
CREATE INDEX "suspects_model_version_id_idx" ON "suspects"("model_version_id");
