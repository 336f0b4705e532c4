-- CreateEnum
CREATE TYPE "InputKind" AS ENUM ('image', 'text', 'tabular');
CREATE TYPE "Split" AS ENUM ('pool', 'holdout');
CREATE TYPE "AnnotationSource" AS ENUM ('human', 'import', 'review');
CREATE TYPE "TaskStatus" AS ENUM ('open', 'leased', 'done', 'skipped');
CREATE TYPE "ModelStatus" AS ENUM ('training', 'ready', 'failed');
CREATE TYPE "ApiKeyRole" AS ENUM ('admin', 'annotator', 'viewer');

-- CreateTable
CREATE TABLE "projects" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "input_kind" "InputKind" NOT NULL,
    "labels" TEXT[],
    "model_spec" JSONB NOT NULL,
    "acquisition_spec" JSONB NOT NULL,
    "holdout_fraction" DOUBLE PRECISION NOT NULL,
    "seed" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "projects_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "items" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "external_id" TEXT NOT NULL,
    "payload" JSONB,
    "object_key" TEXT,
    "content_hash" TEXT NOT NULL,
    "split" "Split" NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "cold_priority" DOUBLE PRECISION NOT NULL,
    "label" TEXT,
    "labeled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "items_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "annotations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seq" BIGSERIAL NOT NULL,
    "project_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "annotator" TEXT NOT NULL,
    "lead_time_ms" INTEGER,
    "source" "AnnotationSource" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "annotations_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "dataset_versions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "watermark" BIGINT NOT NULL,
    "parent_id" UUID,
    "message" TEXT NOT NULL,
    "author" TEXT NOT NULL,
    "counts" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "dataset_versions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "model_versions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "dataset_version_id" UUID,
    "run_id" TEXT NOT NULL,
    "status" "ModelStatus" NOT NULL,
    "spec" JSONB NOT NULL,
    "metrics" JSONB,
    "backend" TEXT,
    "train_ms" INTEGER,
    "artifact_key" TEXT,
    "promoted" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ready_at" TIMESTAMPTZ(3),
    CONSTRAINT "model_versions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "tasks" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "priority" DOUBLE PRECISION NOT NULL,
    "pre_label" TEXT,
    "pre_label_prob" DOUBLE PRECISION,
    "status" "TaskStatus" NOT NULL DEFAULT 'open',
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "predictions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "model_version_id" UUID NOT NULL,
    "label" TEXT NOT NULL,
    "probability" DOUBLE PRECISION NOT NULL,
    "probabilities" DOUBLE PRECISION[],
    "uncertainty" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "predictions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "suspects" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "project_id" UUID NOT NULL,
    "item_id" UUID NOT NULL,
    "model_version_id" UUID NOT NULL,
    "given_label" TEXT NOT NULL,
    "suggested_label" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "suspects_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "key_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "project_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "idempotent_requests" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "api_key_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "route" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "status_code" INTEGER NOT NULL,
    "response" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "idempotent_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "items_project_id_split_id_idx" ON "items"("project_id", "split", "id");
CREATE UNIQUE INDEX "items_project_id_external_id_key" ON "items"("project_id", "external_id");
CREATE UNIQUE INDEX "annotations_seq_key" ON "annotations"("seq");
CREATE INDEX "annotations_project_id_seq_idx" ON "annotations"("project_id", "seq");
CREATE INDEX "annotations_project_id_item_id_seq_idx" ON "annotations"("project_id", "item_id", "seq");
CREATE INDEX "annotations_project_id_created_at_idx" ON "annotations"("project_id", "created_at");
CREATE UNIQUE INDEX "dataset_versions_project_id_number_key" ON "dataset_versions"("project_id", "number");
CREATE UNIQUE INDEX "model_versions_run_id_key" ON "model_versions"("run_id");
CREATE UNIQUE INDEX "model_versions_project_id_number_key" ON "model_versions"("project_id", "number");
CREATE UNIQUE INDEX "tasks_item_id_key" ON "tasks"("item_id");
CREATE INDEX "tasks_project_id_status_idx" ON "tasks"("project_id", "status");
CREATE UNIQUE INDEX "predictions_item_id_key" ON "predictions"("item_id");
CREATE INDEX "predictions_project_id_uncertainty_idx" ON "predictions"("project_id", "uncertainty");
CREATE UNIQUE INDEX "suspects_item_id_key" ON "suspects"("item_id");
CREATE INDEX "suspects_project_id_score_idx" ON "suspects"("project_id", "score");
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");
CREATE UNIQUE INDEX "idempotent_requests_api_key_id_key_key" ON "idempotent_requests"("api_key_id", "key");

-- Partial indexes, which Prisma's schema language cannot express, live only here.
-- Labeled items by label (filters, stats); unlabeled imports add no entry to it.
CREATE INDEX "items_labeled_idx" ON "items"("project_id", "label") WHERE "label" IS NOT NULL;
-- The labeling queue: only tasks that can be handed out, best first.
CREATE INDEX "tasks_queue_idx" ON "tasks"("project_id", "priority" DESC) WHERE "status" IN ('open', 'leased');

-- AddForeignKey
ALTER TABLE "items" ADD CONSTRAINT "items_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "annotations" ADD CONSTRAINT "annotations_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "annotations" ADD CONSTRAINT "annotations_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_parent_id_fkey" FOREIGN KEY ("parent_id") REFERENCES "dataset_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "suspects" ADD CONSTRAINT "suspects_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "suspects" ADD CONSTRAINT "suspects_item_id_fkey" FOREIGN KEY ("item_id") REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "suspects" ADD CONSTRAINT "suspects_model_version_id_fkey" FOREIGN KEY ("model_version_id") REFERENCES "model_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_project_id_fkey" FOREIGN KEY ("project_id") REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "idempotent_requests" ADD CONSTRAINT "idempotent_requests_api_key_id_fkey" FOREIGN KEY ("api_key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;
