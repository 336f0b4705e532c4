-- Label Studio ML-backend connector: Label Studio calls labelloop at a URL that carries an unguessable token.
-- Only the token's SHA-256 is stored. One active connector per project; a revoked one keeps its row.
CREATE TABLE "label_studio_connectors" (
  "id" UUID NOT NULL DEFAULT gen_random_uuid(),
  "project_id" UUID NOT NULL,
  "token_hash" TEXT NOT NULL,
  "token_prefix" TEXT NOT NULL,
  "basic_auth_user" TEXT,
  "basic_auth_pass_hash" TEXT,
  "created_by" TEXT NOT NULL,
  -- What the last accepted /setup said: the raw XML and the parts labelloop uses.
  "label_config" TEXT,
  "from_name" TEXT,
  "to_name" TEXT,
  "object_type" TEXT,
  "data_key" TEXT,
  "ls_hostname" TEXT,
  "ls_access_token" TEXT,
  "setup_at" TIMESTAMPTZ(3),
  "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "rotated_at" TIMESTAMPTZ(3),
  "revoked_at" TIMESTAMPTZ(3),
  CONSTRAINT "label_studio_connectors_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "label_studio_connectors_project_id_fkey" FOREIGN KEY ("project_id")
    REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "label_studio_connectors_token_hash_key" ON "label_studio_connectors"("token_hash");
CREATE UNIQUE INDEX "label_studio_connectors_active_idx" ON "label_studio_connectors"("project_id")
  WHERE "revoked_at" IS NULL;

-- Event webhooks are written here before the reply and processed afterwards, so a crash loses nothing.
-- A resent event (same dedupe key) is not stored twice.
CREATE TABLE "label_studio_events" (
  "id" BIGSERIAL NOT NULL,
  "project_id" UUID NOT NULL,
  "connector_id" UUID NOT NULL,
  "dedupe_key" TEXT NOT NULL,
  "action" TEXT NOT NULL,
  "payload" JSONB NOT NULL,
  "attempts" INTEGER NOT NULL DEFAULT 0,
  "retry_at" TIMESTAMPTZ(3),
  "error" TEXT,
  "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  "processed_at" TIMESTAMPTZ(3),
  CONSTRAINT "label_studio_events_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "label_studio_events_project_id_fkey" FOREIGN KEY ("project_id")
    REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "label_studio_events_connector_id_fkey" FOREIGN KEY ("connector_id")
    REFERENCES "label_studio_connectors"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "label_studio_events_project_id_dedupe_key_key" ON "label_studio_events"("project_id", "dedupe_key");
CREATE INDEX "label_studio_events_pending_idx" ON "label_studio_events"("project_id", "id")
  WHERE "processed_at" IS NULL;

-- Label Studio annotations as labelloop knows them (deletions arrive as ids only).
CREATE TABLE "label_studio_annotations" (
  "project_id" UUID NOT NULL,
  "ls_annotation_id" BIGINT NOT NULL,
  "item_id" UUID NOT NULL,
  -- NULL: a skipped task or no choice made.
  "label" TEXT,
  "annotator" TEXT NOT NULL,
  "ls_updated_at" TEXT NOT NULL,
  "deleted" BOOLEAN NOT NULL DEFAULT false,
  "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
  CONSTRAINT "label_studio_annotations_pkey" PRIMARY KEY ("project_id", "ls_annotation_id"),
  CONSTRAINT "label_studio_annotations_project_id_fkey" FOREIGN KEY ("project_id")
    REFERENCES "projects"("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "label_studio_annotations_item_id_fkey" FOREIGN KEY ("item_id")
    REFERENCES "items"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "label_studio_annotations_item_id_idx" ON "label_studio_annotations"("item_id");
