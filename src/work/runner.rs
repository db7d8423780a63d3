//! Runs what the job queue holds. The runner knows no job kind: each is registered with the
//! context it needs (`register`), and so is periodic work (`every`). One runner per process
//! claims one due job at a time, runs it with no database transaction open and records the
//! outcome; between jobs it does the periodic work that is due. Several processes may each run
//! one: claims never overlap.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::jobs::{claim, complete, fail, queued_of, BackgroundJob, JobError, JobMeta, JobsConfig};
use super::{record, Step, Worker};
use crate::db::models::{Job, JobStatus};
use crate::db::{new_id, Db};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RunFn = Arc<dyn Fn(String, JobMeta) -> BoxFuture<Result<(), JobError>> + Send + Sync>;
type TaskFn = Arc<dyn Fn() -> BoxFuture<()> + Send + Sync>;

struct Periodic {
    name: &'static str,
    every: Duration,
    task: TaskFn,
    last: Mutex<Option<Instant>>,
}

/// The job runner: the registered kinds, the periodic tasks, and what claiming needs.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    cfg: JobsConfig,
    wake: Arc<Notify>,
    owner: String,
    kinds: BTreeMap<&'static str, RunFn>,
    /// Kinds this process cannot run, and why (a mail server not configured): their jobs stay
    /// queued, neither attempted nor failed, and a warning says so once.
    unavailable: BTreeMap<&'static str, String>,
    periodic: Arc<Vec<Periodic>>,
}

impl Runner {
    /// `wake` is notified when a job is queued in this process.
    pub fn new(db: Db, cfg: JobsConfig, wake: Arc<Notify>) -> Runner {
        let id = new_id();
        Runner {
            db,
            cfg,
            wake,
            owner: format!("jobs:{}", &id[..8]),
            kinds: BTreeMap::new(),
            unavailable: BTreeMap::new(),
            periodic: Arc::new(Vec::new()),
        }
    }

    /// Runs jobs of kind `J` with `ctx`.
    pub fn register<J: BackgroundJob>(mut self, ctx: J::Context) -> Runner {
        let run: RunFn = Arc::new(move |payload: String, meta: JobMeta| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let job: J = serde_json::from_str(&payload)
                    .map_err(|e| JobError::permanent(format!("not a {} job: {e}", J::NAME)))?;
                job.run(ctx, meta).await
            }) as BoxFuture<Result<(), JobError>>
        });
        self.kinds.insert(J::NAME, run);
        self
    }

    /// Jobs of kind `J` cannot run in this process, because `why`: they wait in the queue.
    pub fn unavailable<J: BackgroundJob>(mut self, why: impl Into<String>) -> Runner {
        self.unavailable.insert(J::NAME, why.into());
        self
    }

    /// Runs `task` at most once every `every` (first at the runner's start). The task must be
    /// safe to run in several processes at once: they each run it.
    pub fn every<F, Fut>(mut self, name: &'static str, every: Duration, task: F) -> Runner
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task: TaskFn = Arc::new(move || Box::pin(task()) as BoxFuture<()>);
        Arc::get_mut(&mut self.periodic)
            .expect("periodic tasks are registered before the runner starts")
            .push(Periodic {
                name,
                every,
                task,
                last: Mutex::new(None),
            });
        self
    }

    /// Runs jobs until `shutdown` turns true; a job in hand is finished first.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        self.warn_unavailable().await;
        let wake = self.wake.clone();
        let poll = Duration::from_millis(self.cfg.poll_interval_ms);
        super::run(self, wake, poll, shutdown).await;
    }

    /// Does the periodic work, then runs every job due now once; returns how many ran. For tests
    /// and one-off use: a job that fails and is due again at once is not run a second time.
    pub async fn run_due(&self) -> usize {
        self.periodic(true).await;
        let claimed = self.claim(1000).await;
        let n = claimed.len();
        for job in claimed {
            self.execute(job).await;
        }
        n
    }

    async fn periodic(&self, force: bool) {
        for p in self.periodic.iter() {
            let due = {
                let mut last = p.last.lock().expect("periodic lock");
                let due = force || last.is_none_or(|t| t.elapsed() >= p.every);
                if due {
                    *last = Some(Instant::now());
                }
                due
            };
            if due {
                tracing::debug!(task = p.name, "periodic task");
                (p.task)().await;
            }
        }
    }

    async fn warn_unavailable(&self) {
        if self.unavailable.is_empty() {
            return;
        }
        let kinds: Vec<&'static str> = self.unavailable.keys().copied().collect();
        let waiting = self.db.run(move |c| queued_of(c, &kinds)).await;
        for (kind, n) in waiting.unwrap_or_default() {
            let why = self
                .unavailable
                .get(kind.as_str())
                .cloned()
                .unwrap_or_default();
            tracing::warn!(kind = %kind, waiting = n, "jobs are queued that this process does not run ({why}): they wait");
        }
    }

    async fn claim(&self, limit: usize) -> Vec<Job> {
        let kinds: Vec<&'static str> = self.kinds.keys().copied().collect();
        let owner = self.owner.clone();
        let lease = chrono::Duration::seconds(self.cfg.lease_secs as i64);
        let claimed = self
            .db
            .run(move |c| claim(c, &owner, lease, limit, &kinds))
            .await;
        claimed.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not claim jobs");
            Vec::new()
        })
    }

    async fn execute(&self, job: Job) {
        let started = Instant::now();
        let meta = JobMeta {
            id: job.id.clone(),
            attempt: job.attempts,
        };
        let result = match self.kinds.get(job.kind.as_str()) {
            Some(run) => run(job.payload.clone(), meta).await,
            // Not claimed unless registered; kept total for safety.
            None => Err(JobError::temporary(format!("no runner for {:?}", job.kind))),
        };
        let owner = self.owner.clone();
        let patience = Duration::from_secs(self.cfg.lease_secs);
        let (id, kind, attempt) = (job.id.clone(), job.kind.clone(), job.attempts);
        match result {
            Ok(()) => {
                tracing::info!(job = %id, %kind, attempt, ms = started.elapsed().as_millis() as u64, "job done");
                let ours = record(&self.db, patience, "a job's outcome", move |c| {
                    complete(c, &job, &owner)
                })
                .await;
                if ours == Some(false) {
                    tracing::warn!(job = %id, "a job finished after its lease expired: it may run twice");
                }
            }
            Err(e) => {
                let cfg = self.cfg.clone();
                let err = e.clone();
                let status = record(&self.db, patience, "a job's outcome", move |c| {
                    fail(c, &job, &owner, &err, &cfg)
                })
                .await
                .flatten();
                match status {
                    Some(JobStatus::Queued) => {
                        tracing::warn!(job = %id, %kind, attempt, error = %e.text, "job failed; will retry")
                    }
                    Some(_) => {
                        tracing::error!(job = %id, %kind, attempt, error = %e.text, "job failed for good")
                    }
                    None => {
                        tracing::warn!(job = %id, %kind, attempt, error = %e.text, "job failed after its lease expired")
                    }
                }
            }
        }
    }
}

impl Worker for Runner {
    fn name(&self) -> &str {
        &self.owner
    }

    async fn step(&mut self, _shutdown: &mut watch::Receiver<bool>) -> Step {
        self.periodic(false).await;
        match self.claim(1).await.into_iter().next() {
            Some(job) => {
                self.execute(job).await;
                Step::Worked
            }
            None => Step::Idle,
        }
    }
}
