//! Activity tasks as workers see them: a claimed attempt, its lease, what
//! an attempt reports, and a task's final outcome.

use std::time::Duration;

use crate::error::ActivityError;
use crate::ids::{RunId, Seq};
use crate::payload::Payload;
use crate::retry::RetryPolicy;

/// A claimed attempt of an activity task.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// The run.
    pub run: RunId,
    /// Seq of the `ActivityScheduled` event.
    pub seq: Seq,
    /// Registered activity name.
    pub activity: String,
    /// Encoded input.
    pub input: Payload,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-attempt timeout.
    pub timeout: Option<Duration>,
    /// The task lease's fencing token.
    pub token: u64,
    /// Idempotency key, if any.
    pub idempotency_key: Option<String>,
}

/// The final outcome of an activity task, waiting to be journaled.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskOutcome {
    /// The run.
    pub run: RunId,
    /// Seq of the `ActivityScheduled` event.
    pub seq: Seq,
    /// Attempts made.
    pub attempts: u32,
    /// Output or last error.
    pub result: Result<Payload, ActivityError>,
}

/// What a worker reports for one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptResult {
    /// The activity returned a value.
    Completed(Payload),
    /// The attempt failed; `retry_in` is how long after now (the
    /// journal's clock) to try again, `None` if the failure is final.
    Failed {
        /// The error.
        error: ActivityError,
        /// The backoff before the next attempt.
        retry_in: Option<Duration>,
    },
}

/// What a claim found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claim {
    /// Attempts to run now.
    pub tasks: Vec<ActivityTask>,
    /// Tasks settled without running: their worker died holding the last
    /// allowed attempt (failed, never silently re-run), or their
    /// idempotency key already has a stored result (reused). To be
    /// journaled by the run's engine.
    pub settled: Vec<TaskOutcome>,
}

/// A task lease held by a worker, for [`Journal::heartbeat_tasks`](super::Journal::heartbeat_tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskLease {
    /// The run.
    pub run: RunId,
    /// Seq of the `ActivityScheduled` event.
    pub seq: Seq,
    /// The lease's fencing token.
    pub token: u64,
}

impl From<&ActivityTask> for TaskLease {
    fn from(task: &ActivityTask) -> Self {
        Self { run: task.run, seq: task.seq, token: task.token }
    }
}
