-- The outbox retries for a time, not a number of attempts (issue 15):
-- failing_since is when the email's sends began to fail, from which its
-- lifetime and backoff are measured; tries counts the sends the server
-- answered (attempts counts claims, a crashed sender's among them);
-- orphaned is set when a claim is taken over from a sender whose lease ran
-- out without a result, so the new sender can look for a copy it may have
-- sent. postgres/0005_outbox_retry.sql is the same in PostgreSQL's types.

ALTER TABLE outbox ADD COLUMN failing_since TIMESTAMP;
ALTER TABLE outbox ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN orphaned INTEGER NOT NULL DEFAULT 0;
