-- The register's schema on SQLite. Columns named *_index hold HMAC blind
-- indexes; BLOB columns hold AES-256-GCM ciphertexts that name their key.
-- postgres/0001_init.sql is the same schema in PostgreSQL's types.

CREATE TABLE case_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    nhs_index TEXT UNIQUE,
    data BLOB,
    rag TEXT NOT NULL DEFAULT '',
    consent_basis TEXT NOT NULL DEFAULT '',
    factsheet_given BOOLEAN NOT NULL DEFAULT FALSE,
    share_health BOOLEAN NOT NULL DEFAULT FALSE,
    share_education BOOLEAN NOT NULL DEFAULT FALSE,
    share_social_care BOOLEAN NOT NULL DEFAULT FALSE,
    share_select BOOLEAN NOT NULL DEFAULT FALSE,
    share_psg BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    withdrawn_by TEXT,
    withdrawn_why BLOB
);
CREATE INDEX records_state ON records(state, rag);

CREATE TABLE rag_history (
    id INTEGER PRIMARY KEY,
    record_id INTEGER NOT NULL REFERENCES records(id),
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    from_rag TEXT NOT NULL,
    to_rag TEXT NOT NULL,
    why BLOB
);
CREATE INDEX rag_history_record ON rag_history(record_id);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    year INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    record_id INTEGER REFERENCES records(id),
    forms BLOB,
    outcome TEXT NOT NULL DEFAULT '',
    reason_codes TEXT NOT NULL DEFAULT '',
    reasons BLOB,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (year, seq)
);
CREATE INDEX cases_record ON cases(record_id);
CREATE INDEX cases_state ON cases(state);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL DEFAULT '',
    sender_index TEXT NOT NULL DEFAULT '',
    sender BLOB,
    mailbox TEXT NOT NULL DEFAULT '',
    uid_validity BIGINT NOT NULL DEFAULT 0,
    uid BIGINT NOT NULL DEFAULT 0,
    raw BLOB,
    case_id INTEGER REFERENCES cases(id),
    state TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    reason_codes TEXT NOT NULL DEFAULT '',
    reasons BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error BLOB,
    received_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_case ON messages(case_id);
CREATE INDEX messages_state ON messages(state);

CREATE TABLE review_items (
    id INTEGER PRIMARY KEY,
    case_id INTEGER REFERENCES cases(id),
    message_id INTEGER REFERENCES messages(id),
    reason_codes TEXT NOT NULL DEFAULT '',
    reasons BLOB,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by TEXT,
    action TEXT,
    why BLOB
);
CREATE INDEX review_items_state ON review_items(state, created_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    case_id INTEGER REFERENCES cases(id),
    message_id TEXT NOT NULL,
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    rcpt_index TEXT NOT NULL,
    rcpt BLOB,
    subject BLOB,
    body BLOB,
    html BLOB,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    last_error BLOB,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(state, next_try_at);
CREATE INDEX outbox_message_id ON outbox(message_id);
CREATE INDEX outbox_case ON outbox(case_id, kind);
CREATE INDEX outbox_rcpt ON outbox(rcpt_index, kind, created_at);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id BIGINT NOT NULL DEFAULT 0,
    case_ref TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_entity ON audit(entity, entity_id);
CREATE INDEX audit_at ON audit(at);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
