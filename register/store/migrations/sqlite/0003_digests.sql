-- Digests and reminders. digest_runs is the exactly-once ledger of digest
-- slots: a slot is claimed by inserting its row in the transaction that
-- writes the digest's outbox emails, and the unique (name, slot) makes a
-- second daemon's claim of the same slot a no-op. query_followups holds
-- each query's one reminder and its no-reply escalation, keyed by the query
-- so neither can happen twice. C(E)TR dates are read from record_dates
-- (0002).
-- postgres/0003_digests.sql is the same schema in PostgreSQL's types.

CREATE TABLE digest_runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    slot TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    rag_counts TEXT NOT NULL DEFAULT '',
    emails INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (name, slot)
);
CREATE INDEX digest_runs_kind ON digest_runs(name, kind, slot);

CREATE TABLE query_followups (
    query_id INTEGER PRIMARY KEY REFERENCES outbox(id),
    case_id INTEGER NOT NULL REFERENCES cases(id),
    reminder_id INTEGER REFERENCES outbox(id),
    reminded_at TIMESTAMP,
    no_reply_at TIMESTAMP
);
CREATE INDEX query_followups_case ON query_followups(case_id);
