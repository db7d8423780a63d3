//! Prometheus metrics. Message counts come from the database at scrape time, so they are true
//! across several processes and restarts; latencies are this process's own observations.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;

use crate::db::models::{Direction, JobStatus, MessageStatus};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    channel: String,
    direction: String,
    status: String,
}

/// The case load, as the cases module counts it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CaseCounts {
    pub by_state: Vec<(String, i64)>,
    /// Past the deadline that applies now (acceptance, or completion).
    pub overdue: i64,
    /// Workers who gave up on the SMS dialog and wait for a call back.
    pub callbacks_waiting: i64,
}

/// Stored messages of one channel, direction and status.
#[derive(QueryableByName, Debug)]
pub struct StatusCount {
    #[diesel(sql_type = Text)]
    pub channel_id: String,
    #[diesel(sql_type = Text)]
    pub direction: Direction,
    #[diesel(sql_type = Text)]
    pub status: MessageStatus,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

fn latency_histogram() -> Histogram {
    // 1 ms … about 9 hours
    Histogram::new(exponential_buckets(0.001, 2.0, 25))
}

pub struct Metrics {
    dispatch: Family<ChannelLabel, Histogram, fn() -> Histogram>,
    gateway: Family<ChannelLabel, Histogram, fn() -> Histogram>,
    logins: Family<OutcomeLabel, Counter>,
    health: std::sync::Mutex<std::collections::HashMap<String, Health>>,
}

/// What this process has seen of a gateway lately.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// Temporary failures in a row (no answer, refused connection, 5xx).
    failures: u32,
    /// The first of them, once there are `UNREACHABLE_AFTER`.
    since: Option<chrono::NaiveDateTime>,
    first: Option<chrono::NaiveDateTime>,
}

/// Temporary failures in a row after which a gateway counts as unreachable.
pub const UNREACHABLE_AFTER: u32 = 3;

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            dispatch: Family::new_with_constructor(latency_histogram),
            gateway: Family::new_with_constructor(latency_histogram),
            logins: Family::default(),
            health: Default::default(),
        }
    }
}

impl Metrics {
    /// Seconds from queueing to the gateway's acceptance.
    pub fn observe_dispatch(&self, channel: &str, seconds: f64) {
        self.dispatch
            .get_or_create(&ChannelLabel {
                channel: channel.into(),
            })
            .observe(seconds);
    }

    /// Duration of one call to a gateway.
    pub fn observe_gateway(&self, channel: &str, d: Duration) {
        self.gateway
            .get_or_create(&ChannelLabel {
                channel: channel.into(),
            })
            .observe(d.as_secs_f64());
    }

    /// A gateway did not take a message for a reason that may pass (no answer, refused
    /// connection, 5xx). Returns the failures in a row.
    pub fn channel_failed(&self, channel: &str, at: chrono::NaiveDateTime) -> u32 {
        let mut map = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let h = map.entry(channel.to_string()).or_default();
        h.failures += 1;
        let first = *h.first.get_or_insert(at);
        if h.failures >= UNREACHABLE_AFTER && h.since.is_none() {
            h.since = Some(first);
            tracing::warn!(channel, since = %first, "the gateway is unreachable");
        }
        h.failures
    }

    /// A gateway took a message: reachable again.
    pub fn channel_ok(&self, channel: &str) {
        let mut map = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = map.remove(channel) {
            if let Some(since) = h.since {
                tracing::info!(channel, since = %since, "the gateway answers again");
            }
        }
    }

    /// Since when (UTC) a gateway has not taken a message, when it counts as unreachable.
    pub fn unreachable_since(&self, channel: &str) -> Option<chrono::NaiveDateTime> {
        let map = self.health.lock().unwrap_or_else(|e| e.into_inner());
        map.get(channel).and_then(|h| h.since)
    }

    /// A console sign-in attempt: `ok`, `failed` (wrong name or password) or `limited`
    /// (slowed down): a burst of the last two is someone guessing passwords.
    pub fn count_login(&self, outcome: &str) {
        self.logins
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// The exposition text, given the database's message, case and job counts.
    pub fn render(
        &self,
        counts: &[StatusCount],
        channel_ids: &[String],
        cases: &CaseCounts,
        jobs: &[(JobStatus, i64)],
    ) -> String {
        let mut reg = Registry::with_prefix("hotline");
        let by_status: Family<StatusLabel, Gauge> = Family::default();
        // Every status present, zero included, so an alert on failed jobs has a series to see.
        for status in JobStatus::ALL {
            by_status
                .get_or_create(&StatusLabel {
                    status: status.to_string(),
                })
                .set(0);
        }
        for (status, n) in jobs {
            by_status
                .get_or_create(&StatusLabel {
                    status: status.to_string(),
                })
                .set(*n);
        }
        reg.register("jobs", "Background jobs (emails) by status", by_status);
        let by_state: Family<StateLabel, Gauge> = Family::default();
        for (state, n) in &cases.by_state {
            by_state
                .get_or_create(&StateLabel {
                    state: state.clone(),
                })
                .set(*n);
        }
        let overdue: Gauge = Gauge::default();
        overdue.set(cases.overdue);
        let callbacks: Gauge = Gauge::default();
        callbacks.set(cases.callbacks_waiting);
        reg.register("cases", "Cases by state", by_state);
        reg.register(
            "cases_overdue",
            "Cases past the legal deadline that applies now",
            overdue,
        );
        reg.register(
            "callbacks_waiting",
            "Workers waiting for a call back after the SMS dialog",
            callbacks,
        );
        let messages: Family<MessageLabels, Gauge> = Family::default();
        let depth: Family<ChannelLabel, Gauge> = Family::default();
        for id in channel_ids {
            depth
                .get_or_create(&ChannelLabel {
                    channel: id.clone(),
                })
                .set(0);
        }
        for c in counts {
            let labels = MessageLabels {
                channel: c.channel_id.clone(),
                direction: c.direction.to_string(),
                status: c.status.to_string(),
            };
            messages.get_or_create(&labels).set(c.n);
            let waiting = matches!(c.status, MessageStatus::Queued | MessageStatus::Sending);
            if c.direction == Direction::Out && waiting {
                depth
                    .get_or_create(&ChannelLabel {
                        channel: c.channel_id.clone(),
                    })
                    .inc_by(c.n);
            }
        }
        reg.register(
            "messages",
            "Stored messages by channel, direction and status",
            messages,
        );
        let unreachable: Family<ChannelLabel, Gauge> = Family::default();
        for id in channel_ids {
            unreachable
                .get_or_create(&ChannelLabel {
                    channel: id.clone(),
                })
                .set(
                    self.unreachable_since(id)
                        .map_or(0, |t| t.and_utc().timestamp()),
                );
        }
        reg.register(
            "channel_unreachable_since_seconds",
            "When (Unix time) the gateway stopped taking messages, as this process saw it; 0 while it answers",
            unreachable,
        );
        reg.register(
            "outbox_depth",
            "Outgoing messages queued or being sent",
            depth,
        );
        reg.register(
            "dispatch_latency_seconds",
            "Time from queueing an SMS to its acceptance by the gateway",
            self.dispatch.clone(),
        );
        reg.register(
            "gateway_request_seconds",
            "Duration of one send request to a gateway",
            self.gateway.clone(),
        );
        for outcome in ["ok", "failed", "limited"] {
            let _ = self.logins.get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            });
        }
        reg.register(
            "console_logins",
            "Console sign-in attempts by this process, by outcome",
            self.logins.clone(),
        );
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &reg) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_depth_and_latency() {
        let m = Metrics::default();
        m.observe_dispatch("kannel", 0.5);
        let counts = vec![
            StatusCount {
                channel_id: "kannel".into(),
                direction: Direction::Out,
                status: MessageStatus::Queued,
                n: 3,
            },
            StatusCount {
                channel_id: "kannel".into(),
                direction: Direction::Out,
                status: MessageStatus::Sending,
                n: 1,
            },
            StatusCount {
                channel_id: "kannel".into(),
                direction: Direction::In,
                status: MessageStatus::Handled,
                n: 7,
            },
        ];
        let cases = CaseCounts {
            by_state: vec![("received".into(), 2)],
            overdue: 1,
            callbacks_waiting: 3,
        };
        let jobs = vec![(JobStatus::Failed, 2), (JobStatus::Done, 5)];
        let text = m.render(&counts, &["kannel".into(), "log".into()], &cases, &jobs);
        assert!(text.contains("hotline_jobs{status=\"failed\"} 2"), "{text}");
        assert!(text.contains("hotline_jobs{status=\"queued\"} 0"), "{text}");
        assert!(
            text.contains("hotline_cases{state=\"received\"} 2"),
            "{text}"
        );
        assert!(text.contains("hotline_cases_overdue 1"), "{text}");
        assert!(text.contains("hotline_callbacks_waiting 3"), "{text}");
        assert!(
            text.contains(
                "hotline_messages{channel=\"kannel\",direction=\"in\",status=\"handled\"} 7"
            ),
            "{text}"
        );
        assert!(
            text.contains("hotline_outbox_depth{channel=\"kannel\"} 4"),
            "{text}"
        );
        assert!(
            text.contains("hotline_outbox_depth{channel=\"log\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("hotline_dispatch_latency_seconds_count{channel=\"kannel\"} 1"),
            "{text}"
        );
    }
}
