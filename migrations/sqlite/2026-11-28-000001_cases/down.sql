DROP TABLE api_tokens;
DROP TABLE audit_events;
DROP TABLE case_pauses;
DROP TABLE complaints;
DROP TABLE cases;
DROP TABLE conversations;
DROP TABLE projects;
