-- Wage complaints, the cases they form, SMS dialogs, the project registry, audit, API tokens.

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    name_zh TEXT NOT NULL,
    name_bo TEXT,
    county TEXT NOT NULL,
    department TEXT NOT NULL,
    owner TEXT,
    contractor TEXT,
    government_invested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX projects_code_key ON projects (code);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    channel_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    step TEXT NOT NULL,
    answers TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    language TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX conversations_contact_idx ON conversations (contact_id, status);

CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL,
    state TEXT NOT NULL,
    priority INTEGER NOT NULL,
    project_id TEXT REFERENCES projects (id),
    employer TEXT NOT NULL,
    employer_key TEXT NOT NULL,
    county TEXT NOT NULL,
    collective BOOLEAN NOT NULL DEFAULT FALSE,
    representative_id TEXT REFERENCES contacts (id),
    workers INTEGER NOT NULL,
    amount_yuan BIGINT NOT NULL,
    received_on DATE NOT NULL,
    accept_due DATE,
    accepted_on DATE,
    finish_due DATE,
    extension_days INTEGER NOT NULL DEFAULT 0,
    refusal_reason TEXT,
    recovered_yuan BIGINT,
    transferred_to TEXT,
    assigned_to TEXT,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX cases_reference_key ON cases (reference);
CREATE INDEX cases_employer_idx ON cases (employer_key, received_on);
CREATE INDEX cases_state_idx ON cases (state, accept_due, finish_due);

CREATE TABLE complaints (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    conversation_id TEXT REFERENCES conversations (id),
    project_id TEXT REFERENCES projects (id),
    employer TEXT NOT NULL,
    county TEXT NOT NULL,
    workers INTEGER NOT NULL,
    amount_yuan BIGINT NOT NULL,
    months INTEGER,
    anonymous BOOLEAN NOT NULL,
    language TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX complaints_case_idx ON complaints (case_id);
CREATE INDEX complaints_contact_idx ON complaints (contact_id);

CREATE TABLE case_pauses (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    paused_on DATE NOT NULL,
    resumed_on DATE,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_pauses_case_idx ON case_pauses (case_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT REFERENCES cases (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_case_idx ON audit_events (case_id, created_at);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (token_hash);
