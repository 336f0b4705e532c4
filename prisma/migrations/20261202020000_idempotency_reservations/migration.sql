-- An Idempotency-Key is reserved before its handler runs: the row is written first, without an answer
-- (completed_at NULL), so a concurrent duplicate finds it instead of running the handler a second time.
-- The answer is filled in when the handler succeeds; a failed handler deletes the reservation.
ALTER TABLE "idempotent_requests"
  ALTER COLUMN "status_code" DROP NOT NULL,
  ALTER COLUMN "response" DROP NOT NULL,
  ADD COLUMN "completed_at" TIMESTAMPTZ(3);

-- Every row written before reservations holds an answer.
UPDATE "idempotent_requests" SET "completed_at" = "created_at";
