//! Activity execution: one attempt at a time, with timeout, panic capture,
//! heartbeats and the retry decision.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tracing::{debug, warn};

use crate::clock::{self, Clock};
use crate::error::{ActivityError, ActivityErrorKind};
use crate::journal::{ActivityTask, AttemptResult, Journal, TaskOutcome};
use crate::registry::Registry;

/// How attempts are run.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Attempts running at once.
    pub concurrency: usize,
    /// Lease of a claimed task; renewed every third of it while running.
    pub task_lease: Duration,
    /// Retry immediately instead of waiting for the backoff (the testkit's
    /// inline mode; attempts are still counted).
    pub skip_backoff: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self { concurrency: 64, task_lease: Duration::from_secs(30), skip_backoff: false }
    }
}

/// Runs one attempt of `task` and decides what happens next: a panic, a
/// timeout or an error is a failed attempt, retried per the task's policy;
/// it never takes the worker down.
pub async fn execute_attempt(
    registry: &Registry,
    clock: &dyn Clock,
    task: &ActivityTask,
    config: &WorkerConfig,
) -> AttemptResult {
    let result = match registry.activity(&task.activity) {
        None => Err(ActivityError::of_kind(
            ActivityErrorKind::UnknownActivity,
            format!("no activity named `{}` is registered on this worker", task.activity),
            false,
        )),
        Some(activity) => {
            let fut = AssertUnwindSafe((activity.run)(task.input.clone())).catch_unwind();
            let outcome = match task.timeout {
                Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| t),
                None => Ok(fut.await),
            };
            match outcome {
                Err(t) => Err(ActivityError::of_kind(
                    ActivityErrorKind::TimedOut,
                    format!("attempt exceeded its {t:?} timeout"),
                    false,
                )),
                Ok(Err(panic)) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "non-string panic payload".into());
                    Err(ActivityError::of_kind(ActivityErrorKind::Panicked, message, false))
                }
                Ok(Ok(r)) => r,
            }
        }
    };
    match result {
        Ok(out) => AttemptResult::Completed(out),
        Err(error) => {
            let last = task.attempt >= task.retry.max_attempts;
            debug!(run_id = %task.run, seq = task.seq, activity = %task.activity, attempt = task.attempt, %error, "activity attempt failed");
            let retry_at = if error.non_retryable || last {
                None
            } else if config.skip_backoff {
                Some(clock.now())
            } else {
                Some(clock::add(clock.now(), task.retry.delay_after(task.attempt, rand::random::<f64>())))
            };
            AttemptResult::Failed { error, retry_at }
        }
    }
}

/// Runs an attempt while heartbeating its lease, and records the result.
/// Returns the final outcome when the task is finished.
pub(crate) async fn run_task(
    journal: Arc<dyn Journal>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    task: ActivityTask,
    config: WorkerConfig,
) -> Option<TaskOutcome> {
    let heartbeat = {
        let journal = journal.clone();
        let task = task.clone();
        let every = config.task_lease / 3;
        async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = journal.heartbeat_task(&task, config.task_lease).await {
                    warn!(run_id = %task.run, seq = task.seq, error = %e, "activity task lease lost while running");
                    return;
                }
            }
        }
    };
    let attempt = execute_attempt(&registry, clock.as_ref(), &task, &config);
    let result = tokio::select! {
        r = attempt => r,
        // The lease was lost: another worker owns the task now, and any
        // result of ours would be fenced out. Stop here.
        () = heartbeat => return None,
    };
    match journal.finish_attempt(&task, result).await {
        Ok(outcome) => outcome,
        Err(e) => {
            // Fenced: the task was taken over (or the run ended); our result
            // is dropped, never applied.
            warn!(run_id = %task.run, seq = task.seq, error = %e, "activity result rejected");
            None
        }
    }
}
