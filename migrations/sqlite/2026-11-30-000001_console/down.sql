ALTER TABLE cases DROP COLUMN extension_requested_by;
ALTER TABLE cases DROP COLUMN finished_on;
DROP TABLE app_secrets;
DROP TABLE referral_updates;
DROP TABLE referrals;
DROP TABLE departments;
DROP TABLE jobs;
DROP TABLE sessions;
