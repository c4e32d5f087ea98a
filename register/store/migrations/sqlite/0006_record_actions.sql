-- The register's actions for each child, as the national DSR and C(E)TR
-- policy asks a register to drive them: key worker, C(E)TR (community or
-- inpatient), LAEP meetings, the current setting (hospital: admitted on,
-- discharged on) and consent confirmed again. Each row is one dated event;
-- the newest of a kind is the current one and the rest is its history.
-- The dates and kinds are plain so due dates can be worked out without
-- decrypting; the key worker's name and the outcomes are free text and
-- sealed in detail, which a withdrawal of consent erases.
-- postgres/0005_record_actions.sql is the same in PostgreSQL's types.

CREATE TABLE record_actions (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records(id),
    kind TEXT NOT NULL,
    variant TEXT NOT NULL DEFAULT '',
    on_date TEXT NOT NULL,
    until_date TEXT NOT NULL DEFAULT '',
    next_date TEXT NOT NULL DEFAULT '',
    detail BLOB,
    actor TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX record_actions_record ON record_actions(record_id, kind);
