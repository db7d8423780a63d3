-- Console sessions, the durable job queue (email), departments, joint-enforcement referrals,
-- and the server's own secrets (the key that signs acknowledgement links).

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP
);
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key);
CREATE INDEX jobs_due_idx ON jobs (status, run_at);

CREATE TABLE departments (
    code TEXT PRIMARY KEY NOT NULL,
    name_zh TEXT NOT NULL,
    email TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE referrals (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    department TEXT NOT NULL REFERENCES departments (code),
    email TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL,
    link_expires_at TIMESTAMP NOT NULL,
    reminder_due DATE NOT NULL,
    reminders INTEGER NOT NULL DEFAULT 0,
    acknowledged_at TIMESTAMP,
    answered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX referrals_case_idx ON referrals (case_id);
CREATE INDEX referrals_department_idx ON referrals (department, status);

CREATE TABLE referral_updates (
    id TEXT PRIMARY KEY NOT NULL,
    referral_id TEXT NOT NULL REFERENCES referrals (id),
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX referral_updates_referral_idx ON referral_updates (referral_id, created_at);

CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

ALTER TABLE cases ADD COLUMN finished_on DATE;
ALTER TABLE cases ADD COLUMN extension_requested_by TEXT;

-- The sector departments of 保障农民工工资支付条例; an admin adds each one's address.
INSERT INTO departments (code, name_zh, email, active, created_at, updated_at) VALUES
    ('住建', '住房和城乡建设局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('交通', '交通运输局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('水利', '水利局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('发改', '发展和改革委员会', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('财政', '财政局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('公安', '公安局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc')),
    ('市场监管', '市场监督管理局', NULL, TRUE, (now() AT TIME ZONE 'utc'), (now() AT TIME ZONE 'utc'));
