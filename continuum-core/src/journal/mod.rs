//! The `Journal` trait: where histories, mailboxes and activity tasks live.
//!
//! The runtime is written once against this trait; a journal adds
//! durability and fencing only. Every write to a run is guarded by the
//! run's [`Lease`] token: a writer whose lease was taken over is fenced out
//! with [`JournalError::Fenced`] and its write is never applied.

mod memory;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use memory::InMemoryJournal;

use crate::error::{ActivityError, JournalError};
use crate::event::HistoryEvent;
use crate::ids::{RunId, Seq, VersionHash};
use crate::payload::Payload;
use crate::retry::RetryPolicy;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Not finished.
    Running,
    /// Returned `Ok`.
    Completed,
    /// Returned `Err`, panicked, or could not be replayed.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl RunStatus {
    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Running)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        })
    }
}

/// A run's row: identity and status, without its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run.
    pub id: RunId,
    /// The caller-chosen workflow id (unique per journal).
    pub workflow_id: String,
    /// Registered workflow name.
    pub workflow: String,
    /// Version hash the run started on.
    pub version: VersionHash,
    /// Status.
    pub status: RunStatus,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Seq of the last event.
    pub last_seq: Seq,
}

/// A run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The run.
    pub id: RunId,
    /// Caller-chosen workflow id.
    pub workflow_id: String,
    /// Registered workflow name.
    pub workflow: String,
    /// Version hash.
    pub version: VersionHash,
    /// Encoded input.
    pub input: Payload,
}

/// Who holds a run and with which fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run.
    pub run: RunId,
    /// The fencing token; each acquisition takes a larger one.
    pub token: u64,
}

/// An activity task to create with its `ActivityScheduled` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActivityTask {
    /// Seq of the `ActivityScheduled` event.
    pub seq: Seq,
    /// Registered activity name.
    pub activity: String,
    /// Encoded input.
    pub input: Payload,
    /// Retry policy in force for this call.
    pub retry: RetryPolicy,
    /// Per-attempt timeout.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Idempotency key: a result stored under `(activity, key)` is reused.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Events and side effects to commit to one run, atomically.
#[derive(Debug, Clone)]
pub struct RunAppend {
    /// The writer's lease.
    pub lease: Lease,
    /// Events, contiguous, starting right after the run's last event.
    pub events: Vec<HistoryEvent>,
    /// Activity tasks created by `ActivityScheduled` events in `events`.
    pub new_tasks: Vec<NewActivityTask>,
    /// Activity tasks whose outcome is journaled by `events`.
    pub resolved_tasks: Vec<Seq>,
    /// Mailbox signals consumed by `SignalReceived` events in `events`.
    pub consumed_signals: Vec<u64>,
}

/// A signal waiting in a run's mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailboxSignal {
    /// Mailbox id, increasing in arrival order.
    pub id: u64,
    /// Signal name.
    pub name: String,
    /// Encoded body.
    pub payload: Payload,
}

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
    /// The attempt failed; `retry_at` is when to try again, `None` if the
    /// failure is final.
    Failed {
        /// The error.
        error: ActivityError,
        /// When the next attempt may run.
        retry_at: Option<DateTime<Utc>>,
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

/// The storage behind the runtime.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Inserts a run with its `RunStarted` event, already leased to the
    /// caller (so no other worker can claim it in between).
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError>;

    /// Takes the lease of a run, fencing out any previous holder.
    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError>;

    /// The run's row.
    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError>;

    /// The run holding a workflow id, if any.
    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError>;

    /// The run's whole history.
    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError>;

    /// Appends events and their side effects in one atomic step, checked
    /// against the lease and the history's end.
    async fn append(&self, append: RunAppend) -> Result<(), JournalError>;

    /// Runs that have not ended.
    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError>;

    /// Puts a signal in the run's mailbox. Fails for missing and terminal
    /// runs.
    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError>;

    /// The run's unconsumed signals, oldest first.
    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError>;

    /// Claims up to `max` activity attempts that are due, leasing each for
    /// `ttl`. A task whose previous holder's lease expired is claimed again
    /// and the crash consumes an attempt.
    async fn claim_tasks(&self, max: usize, ttl: Duration) -> Result<Claim, JournalError>;

    /// Renews a task lease.
    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError>;

    /// Records an attempt's result; returns the final outcome when the task
    /// is finished (success or no retry left).
    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError>;

    /// Finished tasks of a run whose outcome is not yet in its history.
    async fn finished_tasks(&self, run: RunId) -> Result<Vec<TaskOutcome>, JournalError>;

    /// When the earliest waiting task becomes due, if any task waits.
    async fn next_task_due(&self) -> Result<Option<DateTime<Utc>>, JournalError>;

    /// Waits until new tasks may be claimable or `max_wait` passes.
    async fn wait_for_tasks(&self, max_wait: Duration);

    /// Whether run leases expire (several processes share the journal). If
    /// so, a starting runtime adopts only runs whose owner stopped renewing
    /// — it must not take live runs away from running processes — and
    /// picks up the rest as their leases lapse. If not, it recovers every
    /// unfinished run at start.
    fn run_leases_expire(&self) -> bool {
        false
    }

    /// Renews the leases of the runs a process serves, so no other process
    /// adopts them; returns the runs whose lease was taken over meanwhile
    /// (the caller must drop them). A journal shared by one process only
    /// (the in-memory one) has nothing to renew.
    async fn renew_run_leases(&self, leases: &[Lease]) -> Result<Vec<RunId>, JournalError> {
        let _ = leases;
        Ok(Vec::new())
    }

    /// Up to `max` running runs whose owner stopped renewing its lease (its
    /// process died), reserved for the caller to take with
    /// [`acquire_run`](Self::acquire_run). Without this, a run parked on a
    /// timer in a crashed process would wait for a restart.
    async fn claim_orphaned_runs(&self, max: usize) -> Result<Vec<RunId>, JournalError> {
        let _ = max;
        Ok(Vec::new())
    }

    /// Finished activity tasks and mailbox signals of `runs` that may not
    /// have reached the process serving them: another process finished the
    /// task or took the signal and died before its engine passed it on.
    /// The serving process asks periodically, so such work is never
    /// stranded. A journal only one process uses has nothing to report.
    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError> {
        let _ = runs;
        Ok(PendingWork::default())
    }
}

/// What [`Journal::pending_work`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PendingWork {
    /// Finished tasks whose outcome is not in their run's history.
    pub tasks: Vec<TaskOutcome>,
    /// Unconsumed signals, oldest first per run.
    pub signals: Vec<(RunId, MailboxSignal)>,
}
