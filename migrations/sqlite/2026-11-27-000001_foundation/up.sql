CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    phone TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT 'both',
    language_chosen BOOLEAN NOT NULL DEFAULT 0,
    opted_out BOOLEAN NOT NULL DEFAULT 0,
    opt_changed_at TIMESTAMP,
    opt_changed_via TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX contacts_phone_key ON contacts (phone);

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    phone TEXT NOT NULL,
    our_number TEXT,
    body TEXT NOT NULL,
    encoding TEXT NOT NULL,
    segments INTEGER NOT NULL,
    gateway_id TEXT,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    kind TEXT,
    in_reply_to TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    expires_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX messages_gateway_key ON messages (channel_id, direction, gateway_id);
CREATE INDEX messages_outbox_idx ON messages (channel_id, status, priority, next_attempt_at);
CREATE INDEX messages_contact_idx ON messages (contact_id, created_at);

CREATE TABLE message_events (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL REFERENCES messages (id),
    status TEXT NOT NULL,
    detail TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX message_events_message_idx ON message_events (message_id, created_at);
