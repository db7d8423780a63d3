-- A complaint kept with what the worker managed to say before the SMS dialog stalled: the
-- bureau calls the worker back to complete it.
ALTER TABLE complaints ADD COLUMN needs_callback BOOLEAN NOT NULL DEFAULT 0;
