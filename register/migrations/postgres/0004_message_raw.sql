-- The raw email moves out of the messages row into a table of its own (see
-- sqlite/0004_message_raw.sql for why). PostgreSQL keeps an unchanged TOASTed
-- value across an UPDATE, but a narrow messages row is cheaper to update and
-- to vacuum here too, and the two schemas stay alike.

CREATE TABLE message_raw (
    id BIGINT PRIMARY KEY REFERENCES messages(id),
    raw BYTEA NOT NULL
);
INSERT INTO message_raw (id, raw) SELECT id, raw FROM messages WHERE raw IS NOT NULL;
ALTER TABLE messages DROP COLUMN raw;
