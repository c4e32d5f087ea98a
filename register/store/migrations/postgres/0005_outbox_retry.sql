-- The outbox retries for a time, not a number of attempts (see
-- sqlite/0005_outbox_retry.sql for the columns' meaning).

ALTER TABLE outbox ADD COLUMN failing_since TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN orphaned INTEGER NOT NULL DEFAULT 0;
