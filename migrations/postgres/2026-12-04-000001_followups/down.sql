DROP TABLE subsidy_claims;
DROP TABLE case_signals;
ALTER TABLE cases DROP COLUMN source;
DROP TABLE followups;
DROP TABLE trainees;
DROP TABLE trainings;
DROP TABLE placements;
