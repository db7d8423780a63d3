-- Job alerts: the labour-force register, brokers' job notices, their sends and the workers'
-- answers.

-- The register (劳动力资源台账): one row per worker, keyed by their phone's contact. Trades are
-- codes between commas (",construction,transport,") so one LIKE finds a trade.
CREATE TABLE workers (
    contact_id TEXT PRIMARY KEY NOT NULL REFERENCES contacts (id),
    name TEXT,
    county TEXT,
    township TEXT,
    village TEXT,
    gender TEXT,
    birth_year INTEGER,
    trades TEXT NOT NULL DEFAULT ',',
    training TEXT,
    employment TEXT NOT NULL DEFAULT 'seeking',
    -- Where alerts may come from: a county of ours, NULL for anywhere in Tibet; outside_ok
    -- adds jobs outside Tibet.
    alert_county TEXT,
    outside_ok BOOLEAN NOT NULL DEFAULT FALSE,
    -- Consent to job alerts, and its proof: when and how it was given (or withdrawn).
    alerts_consent BOOLEAN NOT NULL DEFAULT FALSE,
    consent_at TIMESTAMP,
    consent_source TEXT,
    -- The one-time SMS asking an imported worker for consent.
    invited_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX workers_county_idx ON workers (county);

-- A broker's agency: brokers see only their agency's notices.
ALTER TABLE users ADD COLUMN agency TEXT;
ALTER TABLE api_tokens ADD COLUMN agency TEXT;

CREATE TABLE notices (
    id TEXT PRIMARY KEY NOT NULL,
    -- Digits a worker types back: YX 1234.
    code TEXT NOT NULL,
    agency TEXT NOT NULL,
    created_by TEXT NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    employer TEXT NOT NULL,
    county TEXT,
    place_outside TEXT,
    trade TEXT NOT NULL,
    workers_wanted INTEGER NOT NULL,
    wage_fen BIGINT NOT NULL,
    wage_unit TEXT NOT NULL,
    pay_terms TEXT NOT NULL,
    start_on DATE NOT NULL,
    duration TEXT NOT NULL,
    board_lodging TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    project_code TEXT,
    valid_until DATE NOT NULL,
    text_zh TEXT NOT NULL,
    text_bo TEXT,
    -- Who it goes to (JSON: counties, trades, languages, seeking_only); never gender or
    -- ethnicity.
    targeting TEXT NOT NULL,
    decision_reason TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP,
    send_at TIMESTAMP,
    -- Queuing goes through the register in contact-id order, a batch per transaction; this is
    -- the last contact id done, so a restart goes on from there.
    queued_through TEXT,
    queued_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX notices_code_key ON notices (code);
CREATE INDEX notices_agency_idx ON notices (agency, created_at);
CREATE INDEX notices_status_idx ON notices (status, send_at);

-- An alert is an outgoing message with its notice: at most one per worker and notice.
ALTER TABLE messages ADD COLUMN notice_id TEXT;
CREATE UNIQUE INDEX messages_notice_key ON messages (notice_id, contact_id);

-- A worker who answered a notice: interested, and whether they agreed to their number going
-- to the broker.
CREATE TABLE notice_responses (
    id TEXT PRIMARY KEY NOT NULL,
    notice_id TEXT NOT NULL REFERENCES notices (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    share_consent BOOLEAN,
    answered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX notice_responses_key ON notice_responses (notice_id, contact_id);
CREATE INDEX notice_responses_contact_idx ON notice_responses (contact_id, created_at);

-- What an audit event is about when it is not a case: "notice:<id>", "worker:<contact id>".
ALTER TABLE audit_events ADD COLUMN subject TEXT;
CREATE INDEX audit_events_subject_idx ON audit_events (subject, created_at);
