-- Evidence that holds up: the gateway's own time of a message, duplicates told apart per
-- sender, and a hash chain (the ledger) over audit events, complaints and workers' messages.

-- The time the gateway gave, exactly as given (the stored receive time is ours when the
-- gateway's is implausible).
ALTER TABLE messages ADD COLUMN gateway_time TEXT;

-- A gateway id repeated by another sender is another message, not a retry of the first.
DROP INDEX messages_gateway_key;
CREATE UNIQUE INDEX messages_gateway_key ON messages (channel_id, direction, gateway_id, phone);

-- One entry per sealed row, each hash covering the one before: editing, deleting or
-- inserting a sealed row, or an entry, breaks the chain (`hotline audit verify`).
CREATE TABLE ledger (
    seq BIGINT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    case_id TEXT,
    digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX ledger_ref_key ON ledger (kind, ref_id);
CREATE INDEX ledger_case_idx ON ledger (case_id, seq);

-- Where each row's entry is; NULL until the sealer has taken it in.
ALTER TABLE audit_events ADD COLUMN ledger_seq BIGINT;
ALTER TABLE complaints ADD COLUMN ledger_seq BIGINT;
ALTER TABLE messages ADD COLUMN ledger_seq BIGINT;
CREATE INDEX audit_events_unsealed_idx ON audit_events (created_at) WHERE ledger_seq IS NULL;
CREATE INDEX complaints_unsealed_idx ON complaints (created_at) WHERE ledger_seq IS NULL;
CREATE INDEX messages_unsealed_idx ON messages (created_at)
    WHERE ledger_seq IS NULL AND direction = 'in';
