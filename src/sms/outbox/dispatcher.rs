//! Sends what the outbox holds. Per channel: `concurrency` workers sharing one governor limiter
//! charged per segment. A worker claims one message at a time (the most urgent: replies before
//! bulk), or, on a gateway that takes several numbers a call, bulk messages with one text
//! together (`batch`); sends with no database transaction open, then records the result.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::batch::{claim_batch, Claimed};
use super::{
    apply_report, bulk_still_wanted, defer_bulk, mark_attempt_failed, mark_cancelled, mark_expired,
    mark_sent, move_waiting, release,
};
use crate::db::models::{Message, MessageStatus, PRIORITY_BULK, PRIORITY_NOTICE};
use crate::db::{new_id, now, DbConn, DbError};
use crate::sms::channels::{Channel, OutgoingBatch, OutgoingSms, SendError};
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
        let cfg = self.channel.config();
        let (channel_id, tps) = (cfg.id.clone(), cfg.tps);
        let max_recipients = self.channel.max_recipients();
        let (lease, grace) = (o.lease_secs, o.in_flight_grace_secs);
        let tok = token.clone();
        let claimed = self
            .state
            .db
            .run(move |c| claim_batch(c, &channel_id, &tok, lease, grace, max_recipients, tps))
            .await;
        let Claimed { batch_id, messages } = match claimed {
            Ok(Some(c)) => c,
            Ok(None) => return Step::Idle,
            Err(e) => {
                tracing::warn!(worker = %self.name, error = %e, "could not claim from the outbox");
                return Step::Idle;
            }
        };
        let t = now();
        let mut batch = Vec::with_capacity(messages.len());
        for msg in messages {
            if msg.attempts > 1 && msg.status == MessageStatus::Sending {
                tracing::debug!(msg_id = %msg.id, attempt = msg.attempts, "sending again");
            }
            if msg.expires_at.is_some_and(|e| e <= t) {
                let token = token.clone();
                self.record(move |c| mark_expired(c, &msg, &token)).await;
            } else {
                batch.push(msg);
            }
        }
        let Some(first) = batch.first().cloned() else {
            return Step::Worked;
        };
        // A batch is bulk throughout: what holds for its most urgent message holds for all.
        if let Some(to) = self.failover_to(&first, t) {
            // The others go back to the queue first, and move with it.
            self.release_all(&batch[1..], &token).await;
            let n = self
                .state
                .db
                .run({
                    let (msg, token, to) = (first.clone(), token.clone(), to.clone());
                    move |c| move_waiting(c, &msg, &token, &to)
                })
                .await;
            match n {
                Ok(n) => {
                    tracing::warn!(from = %first.channel_id, %to, moved = n, "unreachable: waiting messages moved to another channel");
                    self.state.outbox_wake.notify_waiters();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not move messages off an unreachable channel")
                }
            }
            return Step::Worked;
        }
        if first.priority >= PRIORITY_BULK {
            // Bulk goes out only inside the send window: outside it, this message and the
            // channel's other bulk wait for the next opening.
            let window = self.state.config.bulk_window();
            if !window.is_open(t) {
                let until = window.next_open(t);
                let channel = first.channel_id.clone();
                self.release_all(&batch[1..], &token).await;
                let token = token.clone();
                self.record(move |c| defer_bulk(c, &first, &token, until).map(|_| ()))
                    .await;
                tracing::info!(%channel, until = %until, "outside the send window: bulk waits");
                return Step::Worked;
            }
            // A worker who opted out while a bulk send was under way gets nothing more.
            let msgs = batch.clone();
            let still = self
                .state
                .db
                .run(move |c| {
                    msgs.iter()
                        .map(|m| bulk_still_wanted(c, m))
                        .collect::<Result<Vec<bool>, DbError>>()
                })
                .await
                .unwrap_or_default();
            let mut wanted = Vec::with_capacity(batch.len());
            for (i, msg) in batch.into_iter().enumerate() {
                if still.get(i) == Some(&false) {
                    let token = token.clone();
                    self.record(move |c| {
                        mark_cancelled(c, &msg, &token, "opted out before sending")
                    })
                    .await;
                } else {
                    wanted.push(msg);
                }
            }
            batch = wanted;
            if batch.is_empty() {
                return Step::Worked;
            }
        }
        // Charged per segment and per number.
        let cost: u32 = batch.iter().map(|m| m.segments.max(1) as u32).sum();
        if !self.charge(cost, shutdown).await {
            // Never handed to the gateway: put them back untouched.
            self.release_all(&batch, &token).await;
            return Step::Stop;
        }
        let started = Instant::now();
        let timeout = Duration::from_secs(o.send_timeout_secs);
        let no_answer =
            || SendError::Retryable(format!("no answer within {}s", o.send_timeout_secs));
        let result = match &batch_id {
            None => {
                let out = outgoing(&batch[0]);
                tokio::time::timeout(timeout, self.channel.send(&out))
                    .await
                    .unwrap_or_else(|_| Err(no_answer()))
                    .map(|a| (a.gateway_id, a.detail, Vec::new()))
            }
            Some(id) => {
                let out = batch_of(id, &batch);
                tokio::time::timeout(timeout, self.channel.send_batch(&out))
                    .await
                    .unwrap_or_else(|_| Err(no_answer()))
                    .map(|a| (None, a.detail, a.reports))
            }
        };
        let metrics = &self.state.metrics;
        let channel_id = &self.channel.config().id;
        metrics.observe_gateway(channel_id, started.elapsed());
        match result {
            Ok((gateway_id, detail, reports)) => {
                metrics.channel_ok(channel_id);
                for msg in &batch {
                    let waited = (now() - msg.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                    metrics.observe_dispatch(channel_id, waited);
                }
                if batch.len() > 1 {
                    tracing::debug!(channel = %channel_id, batch = ?batch_id, numbers = batch.len(), "one call for several numbers");
                }
                let channel = channel_id.clone();
                self.record(move |c| {
                    crate::db::transaction(c, |c| {
                        for msg in &batch {
                            mark_sent(c, msg, &token, gateway_id.as_deref(), &detail)?;
                        }
                        // What the answer already says of single numbers (one refused).
                        for r in &reports {
                            apply_report(c, &channel, &r.message_id, r.delivery, &r.detail)?;
                        }
                        Ok(())
                    })
                })
                .await;
            }
            Err(e) => {
                let retryable = matches!(e, SendError::Retryable(_));
                let text = e.to_string();
                tracing::warn!(channel = %channel_id, msg_id = %first.id, batch = ?batch_id, numbers = batch.len(), error = %text, "send failed");
                let cfg = self.state.config.outbox.clone();
                let failures = if retryable {
                    metrics.channel_failed(channel_id, now())
                } else {
                    0
                };
                let down = failures >= crate::metrics::UNREACHABLE_AFTER;
                self.record(move |c| {
                    crate::db::transaction(c, |c| {
                        for msg in &batch {
                            mark_attempt_failed(c, &cfg, msg, &token, &text, retryable, down)?;
                        }
                        Ok(())
                    })
                })
                .await;
                if retryable {
                    // A gateway that keeps failing (a phone off, out of credit or signal) is
                    // asked again less and less often, up to once a minute, not with every
                    // waiting message.
                    let n = failures;
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

    /// Waits until the limiter lets `cost` segments go, at most a second's quota at a time
    /// (more than its burst at once it refuses). False when shutdown came first.
    async fn charge(&self, cost: u32, shutdown: &mut watch::Receiver<bool>) -> bool {
        let tps = self.channel.config().tps.max(1);
        let mut left = cost.max(1);
        while left > 0 {
            let n = left.min(tps);
            let step = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
            tokio::select! {
                r = self.limiter.until_n_ready(step) => { let _ = r; }
                _ = shutdown.changed() => return false,
            }
            left -= n;
        }
        true
    }

    /// Puts back claimed messages that were not handed to the gateway.
    async fn release_all(&self, msgs: &[Message], token: &str) {
        for msg in msgs {
            let (msg, token) = (msg.clone(), token.to_string());
            self.record(move |c| release(c, &msg, &token)).await;
        }
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

/// A message as a channel sends it alone.
fn outgoing(msg: &Message) -> OutgoingSms {
    OutgoingSms {
        id: msg.id.clone(),
        to: msg.phone.clone(),
        text: msg.body.clone(),
        encoding: encoding(msg),
        priority: msg.priority,
        validity_secs: validity(msg),
    }
}

/// Messages with one text as one call under the batch's `id`; the validity is that of the
/// soonest to expire.
fn batch_of(id: &str, batch: &[Message]) -> OutgoingBatch {
    let first = &batch[0];
    OutgoingBatch {
        id: id.to_string(),
        text: first.body.clone(),
        encoding: encoding(first),
        priority: first.priority,
        validity_secs: batch.iter().filter_map(validity).min(),
        recipients: batch
            .iter()
            .map(|m| (m.id.clone(), m.phone.clone()))
            .collect(),
    }
}

fn encoding(msg: &Message) -> Encoding {
    if msg.encoding == Encoding::Gsm7.as_str() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    }
}

/// Seconds the carrier may keep trying: what is left of the message's life, at least a minute.
fn validity(msg: &Message) -> Option<u64> {
    msg.expires_at
        .map(|e| (e - now()).num_seconds().max(60) as u64)
}
