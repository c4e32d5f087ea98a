-- The raw email moves out of the messages row into a table of its own, in
-- chunks. SQLite rewrites a whole row, overflow pages and all, on any
-- UPDATE: every change of a message's state (moved, failed again, its
-- location) rewrote its ~150 KB encrypted raw email. And a 40 MB email
-- bound as one value was copied whole twice more inside SQLite; chunks of
-- 1 MiB (each sealed on its own) keep that to a chunk. The raw is written
-- once and read only to reprocess. Existing ciphertexts move unchanged as
-- chunk 0 (all chunks are sealed with "messages.raw" as associated data).
-- postgres/0004_message_raw.sql is the same in PostgreSQL's types.

CREATE TABLE message_raw (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id),
    seq INTEGER NOT NULL,
    raw BLOB NOT NULL,
    UNIQUE (message_id, seq)
);
INSERT INTO message_raw (message_id, seq, raw) SELECT id, 0, raw FROM messages WHERE raw IS NOT NULL;
UPDATE messages SET raw = NULL WHERE raw IS NOT NULL;
ALTER TABLE messages DROP COLUMN raw;
