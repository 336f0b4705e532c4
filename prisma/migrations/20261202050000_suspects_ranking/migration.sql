-- Suspects rank every labeled item a refresh examined, not only the flagged ones, so precision and recall can be
-- read at any depth. `rank` is the position in that ranking (1 = most suspicious) and the list's keyset; `flagged`
-- is confident learning's verdict, and the flagged-only list reads its own partial index. The rows written before
-- were all flagged: they keep their score order until the next refresh replaces them.
ALTER TABLE "suspects" ADD COLUMN "rank" INTEGER;
ALTER TABLE "suspects" ADD COLUMN "flagged" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "suspects" ALTER COLUMN "flagged" DROP DEFAULT;
UPDATE "suspects" s SET "rank" = ranked.position
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "project_id" ORDER BY "score" DESC, "item_id" DESC) AS position
  FROM "suspects"
) ranked
WHERE ranked."id" = s."id";
ALTER TABLE "suspects" ALTER COLUMN "rank" SET NOT NULL;

DROP INDEX "suspects_project_id_score_idx";
CREATE UNIQUE INDEX "suspects_project_id_rank_key" ON "suspects"("project_id", "rank");
CREATE INDEX "suspects_flagged_rank_idx" ON "suspects"("project_id", "rank") WHERE "flagged";
