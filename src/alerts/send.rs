//! Queuing an approved notice's alerts, and the sending rules.
