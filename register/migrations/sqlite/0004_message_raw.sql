-- The raw email moves out of the messages row into a table of its own.
-- SQLite rewrites a whole row, overflow pages and all, on any UPDATE: every
-- change of a message's state (moved, failed again, its location) rewrote
-- its ~150 KB encrypted raw email. The raw is written once and read only to
-- reprocess, so it lives apart, keyed by the message's id. The ciphertexts
-- move unchanged (they stay sealed with "messages.raw" as associated data).
-- postgres/0004_message_raw.sql is the same in PostgreSQL's types.

CREATE TABLE message_raw (
    id INTEGER PRIMARY KEY REFERENCES messages(id),
    raw BLOB NOT NULL
);
INSERT INTO message_raw (id, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL;
UPDATE messages SET raw = NULL WHERE raw IS NOT NULL;
ALTER TABLE messages DROP COLUMN raw;
