//! Sends what the outbox holds. Per channel: `concurrency` workers sharing one governor limiter
//! charged per segment. A worker claims one message at a time (the most urgent: replies before
//! bulk), sends it with no database transaction open, then records the result.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{
    bulk_still_wanted, claim, defer_bulk, mark_attempt_failed, mark_cancelled, mark_expired,
    mark_sent, move_waiting, release,
};
use crate::db::models::{MessageStatus, PRIORITY_BULK, PRIORITY_NOTICE};
use crate::db::{new_id, now, DbConn, DbError};
use crate::sms::channels::{Channel, OutgoingSms, SendError};
use crate::text::Encoding;
use crate::work::{self, Step};
use crate::AppState;

/// Starts the workers of every channel. They stop, after finishing the send in hand, once
/// `shutdown` turns true.
pub fn spawn(state: &AppState, shutdown: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let process = new_id();
    let mut handles = Vec::new();
    for channel in state.channels.iter() {
        let cfg = channel.config();
        let tps = NonZeroU32::new(cfg.tps).unwrap_or(NonZeroU32::MIN);
        let limiter = Arc::new(RateLimiter::direct(Quota::per_second(tps)));
        for n in 0..cfg.concurrency {
            let worker = Worker {
                state: state.clone(),
                channel: channel.clone(),
                limiter: limiter.clone(),
                name: format!("{}/{}/{n}", &process[..8], cfg.id),
            };
            let poll = Duration::from_millis(state.config.outbox.poll_interval_ms);
            handles.push(tokio::spawn(work::run(
                worker,
                state.outbox_wake.clone(),
                poll,
                shutdown.clone(),
            )));
        }
    }
    handles
}

struct Worker {
    state: AppState,
    channel: Arc<dyn Channel>,
    limiter: Arc<DefaultDirectRateLimiter>,
    name: String,
}

impl work::Worker for Worker {
    fn name(&self) -> &str {
        &self.name
    }

    async fn step(&mut self, shutdown: &mut watch::Receiver<bool>) -> Step {
        self.send_one(shutdown).await
    }
}

impl Worker {
    async fn send_one(&self, shutdown: &mut watch::Receiver<bool>) -> Step {
        let o = &self.state.config.outbox;
        let token = format!("{}:{}", self.name, new_id());
        let channel_id = self.channel.config().id.clone();
        let (lease, grace) = (o.lease_secs, o.in_flight_grace_secs);
        let tok = token.clone();
        let claimed = self
            .state
            .db
            .run(move |c| claim(c, &channel_id, &tok, lease, grace))
            .await;
        let msg = match claimed {
            Ok(Some(m)) => m,
            Ok(None) => return Step::Idle,
            Err(e) => {
                tracing::warn!(worker = %self.name, error = %e, "could not claim from the outbox");
                return Step::Idle;
            }
        };
        if msg.attempts > 1 && msg.status == MessageStatus::Sending {
            tracing::debug!(msg_id = %msg.id, attempt = msg.attempts, "sending again");
        }
        let t = now();
        if msg.expires_at.is_some_and(|e| e <= t) {
            self.record(move |c| mark_expired(c, &msg, &token)).await;
            return Step::Worked;
        }
        if let Some(to) = self.failover_to(&msg, t) {
            let n = self
                .state
                .db
                .run({
                    let (msg, token, to) = (msg.clone(), token.clone(), to.clone());
                    move |c| move_waiting(c, &msg, &token, &to)
                })
                .await;
            match n {
                Ok(n) => {
                    tracing::warn!(from = %msg.channel_id, %to, moved = n, "unreachable: waiting messages moved to another channel");
                    self.state.outbox_wake.notify_waiters();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not move messages off an unreachable channel")
                }
            }
            return Step::Worked;
        }
        if msg.priority >= PRIORITY_BULK {
            // Bulk goes out only inside the send window: outside it, this message and the
            // channel's other bulk wait for the next opening.
            let window = self.state.config.bulk_window();
            if !window.is_open(t) {
                let until = window.next_open(t);
                let channel = msg.channel_id.clone();
                self.record(move |c| defer_bulk(c, &msg, &token, until).map(|_| ()))
                    .await;
                tracing::info!(%channel, until = %until, "outside the send window: bulk waits");
                return Step::Worked;
            }
        }
        if msg.priority >= PRIORITY_BULK {
            // A worker who opted out while a bulk send was under way gets nothing more.
            let m = msg.clone();
            let wanted = self.state.db.run(move |c| bulk_still_wanted(c, &m)).await;
            if matches!(wanted, Ok(false)) {
                self.record(move |c| mark_cancelled(c, &msg, &token, "opted out before sending"))
                    .await;
                return Step::Worked;
            }
        }
        // Charge the limiter per segment (a burst never exceeds one second's quota).
        let cost = NonZeroU32::new((msg.segments.max(1) as u32).min(self.channel.config().tps))
            .unwrap_or(NonZeroU32::MIN);
        tokio::select! {
            r = self.limiter.until_n_ready(cost) => { let _ = r; }
            _ = shutdown.changed() => {
                // Never handed to the gateway: put it back untouched.
                self.record(move |c| release(c, &msg, &token)).await;
                return Step::Stop;
            }
        }
        let out = OutgoingSms {
            id: msg.id.clone(),
            to: msg.phone.clone(),
            text: msg.body.clone(),
            encoding: if msg.encoding == Encoding::Gsm7.as_str() {
                Encoding::Gsm7
            } else {
                Encoding::Ucs2
            },
            priority: msg.priority,
            validity_secs: msg
                .expires_at
                .map(|e| (e - now()).num_seconds().max(60) as u64),
        };
        let started = Instant::now();
        let timeout = Duration::from_secs(o.send_timeout_secs);
        let result = match tokio::time::timeout(timeout, self.channel.send(&out)).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Retryable(format!(
                "no answer within {}s",
                o.send_timeout_secs
            ))),
        };
        let metrics = &self.state.metrics;
        metrics.observe_gateway(&self.channel.config().id, started.elapsed());
        match result {
            Ok(accepted) => {
                metrics.channel_ok(&self.channel.config().id);
                let waited = (now() - msg.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                metrics.observe_dispatch(&self.channel.config().id, waited);
                self.record(move |c| {
                    mark_sent(
                        c,
                        &msg,
                        &token,
                        accepted.gateway_id.as_deref(),
                        &accepted.detail,
                    )
                })
                .await;
            }
            Err(e) => {
                let retryable = matches!(e, SendError::Retryable(_));
                let text = e.to_string();
                tracing::warn!(channel = %self.channel.config().id, msg_id = %msg.id, error = %text, "send failed");
                let cfg = self.state.config.outbox.clone();
                self.record(move |c| {
                    mark_attempt_failed(c, &cfg, &msg, &token, &text, retryable).map(|_| ())
                })
                .await;
                if retryable {
                    // A gateway that keeps failing (a phone off, out of credit or signal) is
                    // asked again less and less often, up to once a minute, not with every
                    // waiting message.
                    let n = metrics.channel_failed(&self.channel.config().id, now());
                    if n >= crate::metrics::UNREACHABLE_AFTER {
                        let pause = work::backoff(1, 60, n - crate::metrics::UNREACHABLE_AFTER);
                        tokio::select! {
                            _ = tokio::time::sleep(pause.to_std().unwrap_or_default()) => {}
                            _ = shutdown.changed() => return Step::Stop,
                        }
                    }
                }
            }
        }
        Step::Worked
    }

    /// Where a message that answers nothing goes when this channel has been unreachable for
    /// `outbox.failover_after_secs`: the default channel, when it is another one and answers.
    fn failover_to(
        &self,
        msg: &crate::db::models::Message,
        t: chrono::NaiveDateTime,
    ) -> Option<String> {
        let after = self.state.config.outbox.failover_after_secs;
        let id = &self.channel.config().id;
        let since = self.state.metrics.unreachable_since(id)?;
        let default = self.state.channels.default_id();
        let due = after > 0 && (t - since).num_seconds() >= after as i64;
        (due && msg.priority >= PRIORITY_NOTICE
            && default != id
            && self.state.metrics.unreachable_since(default).is_none())
        .then(|| default.to_string())
    }

    /// Records an outcome: after a send it must not be lost (`work::record`).
    async fn record<F>(&self, f: F)
    where
        F: Fn(&mut DbConn) -> Result<(), DbError> + Send + Sync + 'static,
    {
        let patience = Duration::from_secs(self.state.config.outbox.lease_secs);
        work::record(&self.state.db, patience, "a send result", f).await;
    }
}
