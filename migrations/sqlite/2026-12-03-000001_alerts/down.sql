DROP INDEX audit_events_subject_idx;
ALTER TABLE audit_events DROP COLUMN subject;
DROP TABLE notice_responses;
DROP INDEX messages_notice_key;
ALTER TABLE messages DROP COLUMN notice_id;
DROP TABLE notices;
ALTER TABLE api_tokens DROP COLUMN agency;
ALTER TABLE users DROP COLUMN agency;
DROP TABLE workers;
