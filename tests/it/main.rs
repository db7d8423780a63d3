//! Integration tests, one binary (one link) for all of them. The database backend comes from
//! TEST_DATABASE_URL: unset means a temporary SQLite file per test; a postgres:// URL means a
//! fresh PostgreSQL database per test on that server.

mod support;

mod alerts;
mod alerts_e2e;
mod alerts_kill;
mod android_channel;
mod api;
mod browser_harness;
mod bulletins;
mod cli;
mod complaints;
mod console;
mod console_e2e;
mod evidence;
mod faults;
mod followups;
mod followups_e2e;
mod followups_kill;
mod fuzz;
mod gateway;
mod jobs;
mod json_channel;
mod kannel_e2e;
mod kannel_harness;
mod notices_api;
mod notices_console;
mod outbox;
mod placements;
mod projects;
mod referrals;
mod register;
mod reports;
mod schema;
mod schemathesis;
mod sms_budget;
mod smtp_harness;
mod subscriptions;
mod twilio_channel;
mod users;
