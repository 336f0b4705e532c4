-- Where a model version came from: trained here, or imported from a bundle (and then from which model).
ALTER TABLE "model_versions"
    ADD COLUMN "source" TEXT NOT NULL DEFAULT 'trained',
    ADD COLUMN "origin" JSONB,
    ADD CONSTRAINT "model_versions_source_check" CHECK ("source" IN ('trained', 'imported'));
