-- Follow-ups: placements and trainings, the questions scheduled after them, the signals of
-- unpaid wages they reveal, and the subsidies a lasting placement earns.

-- A worker placed with an employer (by a broker, an officer, an import, or the worker's own
-- word). employer_key is the cases' key: a project's id, or the employer's normalised name.
CREATE TABLE placements (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    employer TEXT NOT NULL,
    employer_key TEXT NOT NULL,
    project_id TEXT REFERENCES projects (id),
    notice_id TEXT REFERENCES notices (id),
    agency TEXT,
    -- Where the work is: a county of ours, or a place outside Tibet.
    county TEXT,
    place_outside TEXT,
    trade TEXT,
    start_on DATE NOT NULL,
    -- How it was recorded (console, api, import, worker) and by whom.
    source TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    -- The follow-up schedule in force when it was recorded (a digest of its steps).
    schedule_version TEXT NOT NULL,
    -- A follow-up said the worker left (changed_job, back_home, looking).
    ended_on DATE,
    end_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- Imported twice, recorded once.
CREATE UNIQUE INDEX placements_key ON placements (contact_id, employer_key, start_on);
CREATE INDEX placements_employer_idx ON placements (employer_key);
CREATE INDEX placements_agency_idx ON placements (agency, start_on);
CREATE INDEX placements_start_idx ON placements (start_on);

-- A training course; its trainees are followed up after its end.
CREATE TABLE trainings (
    id TEXT PRIMARY KEY NOT NULL,
    course TEXT NOT NULL,
    provider TEXT NOT NULL,
    trade TEXT,
    end_on DATE NOT NULL,
    schedule_version TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX trainings_key ON trainings (course, provider, end_on);

CREATE TABLE trainees (
    id TEXT PRIMARY KEY NOT NULL,
    training_id TEXT NOT NULL REFERENCES trainings (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX trainees_key ON trainees (training_id, contact_id);

-- One scheduled follow-up: a row before it is sent, each (subject, step) once. subject is
-- "placement:<id>", "trainee:<id>" or "interest:<notice_response id>".
CREATE TABLE followups (
    id TEXT PRIMARY KEY NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    subject TEXT NOT NULL,
    placement_id TEXT REFERENCES placements (id),
    -- placement, training or start (did the worker start the job they showed interest in?)
    schedule TEXT NOT NULL,
    step TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    -- scheduled, open (asked, waiting for answers), done, unanswered, silenced
    status TEXT NOT NULL,
    -- The question waiting for an answer, while open.
    question TEXT,
    -- The answers so far (JSON).
    answers TEXT NOT NULL DEFAULT '{}',
    language TEXT,
    channel_id TEXT,
    sent_at TIMESTAMP,
    -- The first SMS that asked (its delivery is the step's "delivered").
    message_id TEXT,
    reminded_at TIMESTAMP,
    -- The first and the latest answer.
    first_answered_at TIMESTAMP,
    answered_at TIMESTAMP,
    closed_at TIMESTAMP,
    -- Why a step was silenced, or the case its answers went to.
    note TEXT,
    case_id TEXT REFERENCES cases (id),
    -- Answered "paid partly" or "not at all".
    unpaid BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX followups_key ON followups (subject, step);
CREATE INDEX followups_due_idx ON followups (status, due_at);
CREATE INDEX followups_contact_idx ON followups (contact_id, status);
CREATE INDEX followups_placement_idx ON followups (placement_id);

-- Where a case came from: a worker's complaint, or an early warning from follow-ups.
ALTER TABLE cases ADD COLUMN source TEXT NOT NULL DEFAULT 'complaint';

-- Evidence on a case that is not a complaint: a follow-up answer saying wages were unpaid.
CREATE TABLE case_signals (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    followup_id TEXT NOT NULL,
    -- partly or none
    paid TEXT NOT NULL,
    months INTEGER,
    amount_yuan BIGINT,
    answered_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX case_signals_key ON case_signals (case_id, followup_id);

-- A subsidy a placement earned: each kind once per placement.
CREATE TABLE subsidy_claims (
    id TEXT PRIMARY KEY NOT NULL,
    placement_id TEXT NOT NULL REFERENCES placements (id),
    -- job_seeking (the worker), placement (the broker), travel (the worker, outside Tibet)
    kind TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    agency TEXT,
    eligible_on DATE NOT NULL,
    -- eligible, approved, rejected
    status TEXT NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMP,
    reason TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subsidy_claims_key ON subsidy_claims (placement_id, kind);
CREATE INDEX subsidy_claims_month_idx ON subsidy_claims (kind, eligible_on);
