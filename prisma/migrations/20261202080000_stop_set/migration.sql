-- The stop set: a fixed, seeded sample of a project's unlabeled pool items, chosen once (at its first ranking
-- pass), on which every scored model's predicted class is kept. Successive models that agree on it have
-- stopped learning much (stabilizing predictions, Bloodgood & Vijay-Shanker 2009). An item that gets labeled
-- later stays in the set, so the set never changes; a deleted item drops out through the comparison.
CREATE TABLE "stop_set_items" (
    "project_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    CONSTRAINT "stop_set_items_pkey" PRIMARY KEY ("project_id", "item_id")
);

CREATE TABLE "stop_set_predictions" (
    "model_version_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "label" TEXT NOT NULL,
    CONSTRAINT "stop_set_predictions_pkey" PRIMARY KEY ("model_version_id", "item_id")
);

CREATE INDEX "stop_set_items_item_id_idx" ON "stop_set_items"("item_id");
CREATE INDEX "stop_set_predictions_item_id_idx" ON "stop_set_predictions"("item_id");

ALTER TABLE "stop_set_items" ADD CONSTRAINT "stop_set_items_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "stop_set_items" ADD CONSTRAINT "stop_set_items_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "stop_set_predictions" ADD CONSTRAINT "stop_set_predictions_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "stop_set_predictions" ADD CONSTRAINT "stop_set_predictions_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
