//! The `Journal` trait: where histories, mailboxes and activity tasks live.
//!
//! The runtime is written once against this trait; a journal adds
//! durability and fencing only. Every write to a run is guarded by the
//! run's [`Lease`] token: a writer whose lease was taken over is fenced out
//! with [`JournalError::Fenced`] and its write is never applied.

mod memory;
mod task;
mod write;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use self::memory::InMemoryJournal;
pub use self::task::{ActivityTask, AttemptResult, Claim, TaskLease, TaskOutcome};
pub use self::write::{ChildReport, CreateRun, IdReuse, NewRun, RunAppend, RunWrite, StoredResult, Written};
pub use crate::registry::ServedVersion;

pub use crate::command::NewActivityTask;
pub use crate::outcome::RunOutcome;
pub use crate::status::RunStatus;

use crate::error::JournalError;
use crate::event::{HistoryEvent, ParentRef};
use crate::ids::{RunId, Seq, VersionHash};
use crate::payload::Payload;
use uuid::Uuid;

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
    /// For a child run: its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentRef>,
}

/// Who holds a run and with which fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The run.
    pub run: RunId,
    /// The fencing token; each acquisition takes a larger one.
    pub token: u64,
}

/// A hint that a run has work waiting in the journal (a finished task, a
/// signal) recorded by another process, for the process that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunWake {
    /// This run has work waiting.
    Run(RunId),
    /// Hints may have been missed (the listening connection was lost):
    /// check every run served.
    All,
    /// Runs were released for any process to adopt (a client started one,
    /// a process shutting down let go of its runs): look for orphaned runs
    /// now rather than at the next lease renewal.
    Adopt,
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

/// A run taken over and read in one go by [`Journal::load_runs`].
#[derive(Debug, Clone)]
pub struct LoadedRun {
    /// The run's row.
    pub info: RunInfo,
    /// The fresh lease the caller now holds.
    pub lease: Lease,
    /// Its history, or why it cannot be read (`CorruptEvent` for an event
    /// that does not decode).
    pub history: Result<Arc<[HistoryEvent]>, JournalError>,
}

/// The storage behind the runtime.
#[async_trait]
pub trait Journal: Send + Sync + 'static {
    /// Inserts a run with its `RunStarted` event, already leased to the
    /// caller (so no other worker can claim it in between).
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError>;

    /// Takes the lease of a run, fencing out any previous holder.
    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError>;

    /// Takes a fresh lease of a run the caller kept without its future,
    /// only if `lease` is still the one in force; [`JournalError::Fenced`]
    /// if another process took the run meanwhile.
    async fn reacquire_run(&self, lease: &Lease) -> Result<Lease, JournalError>;

    /// The run's row.
    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError>;

    /// The root of the chain that holds a workflow id now (the latest chain
    /// started with it), if any.
    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError>;

    /// The run's whole history.
    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError>;

    /// Appends events and their side effects in one atomic step, checked
    /// against the lease and the history's end.
    async fn append(&self, append: RunAppend) -> Result<(), JournalError>;

    /// Applies the writes of many runs in one atomic step (one transaction
    /// on a database): the engine's group commit. Each write is checked on
    /// its own (lease, history end, status, workflow-id uniqueness for new
    /// runs); one that fails the check is left out with its error in the
    /// same position of the result, and the others are applied. An `Err`
    /// of the whole call means nothing was applied — or, if the connection
    /// broke during the commit, that the outcome is unknown: the writer
    /// must reload the runs from the journal before writing to them again.
    async fn commit(&self, writes: Vec<RunWrite>) -> Result<Vec<Result<Written, JournalError>>, JournalError>;

    /// Runs that have not ended.
    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError>;

    /// Puts a signal in the run's mailbox. Fails for missing and terminal
    /// runs.
    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError>;

    /// Puts a signal in the run's mailbox unless a signal with
    /// `delivery_id` was already delivered to any run of its
    /// continue-as-new chain: `Ok(None)` then, and nothing is written —
    /// also when the chain has ended since. Otherwise as
    /// [`send_signal`](Self::send_signal). Concurrent sends of one id
    /// deliver it once.
    async fn send_signal_once(
        &self,
        run: RunId,
        name: &str,
        payload: Payload,
        delivery_id: &str,
    ) -> Result<Option<MailboxSignal>, JournalError>;

    /// The run's unconsumed signals, oldest first.
    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError>;

    /// Claims up to `max` activity attempts that are due, leasing each for
    /// `ttl`. A task whose previous holder's lease expired is claimed again
    /// and the crash consumes an attempt. With `activities`, only tasks of
    /// those activities are claimed (a worker takes what it can run);
    /// `None` claims any.
    async fn claim_tasks(
        &self,
        max: usize,
        ttl: Duration,
        activities: Option<&[String]>,
    ) -> Result<Claim, JournalError>;

    /// Renews a task lease.
    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError>;

    /// Renews many task leases at once; returns those that were lost
    /// (taken over, or their run ended), whose attempts must stop.
    async fn heartbeat_tasks(&self, leases: &[TaskLease], ttl: Duration) -> Result<Vec<TaskLease>, JournalError>;

    /// Records an attempt's result; returns the final outcome when the task
    /// is finished (success or no retry left).
    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError>;

    /// Keeps `stored.output` under `(stored.activity, stored.key)` unless a
    /// result is stored there already, and returns the result in force —
    /// the first one stored. Every run whose activity call has that
    /// idempotency key journals this result, whichever attempt produced it
    /// ([`finish_attempt`](Self::finish_attempt) of a completed keyed task
    /// does the same).
    async fn store_result(&self, stored: StoredResult) -> Result<Payload, JournalError>;

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
    /// process died) and that the caller can serve (`servable`), reserved
    /// for the caller to take with
    /// [`acquire_run`](Self::acquire_run). Without this, a run parked on a
    /// timer in a crashed process would wait for a restart.
    async fn claim_orphaned_runs(&self, max: usize, servable: &Servable) -> Result<Vec<RunId>, JournalError> {
        let _ = (max, servable);
        Ok(Vec::new())
    }

    /// Records that process `process` serves these workflow versions and
    /// is alive for `alive_for` more (it renews before then): called when
    /// a runtime starts and at every lease renewal. A journal only one
    /// process uses has nothing to record.
    async fn register_versions(
        &self,
        process: Uuid,
        versions: &[ServedVersion],
        alive_for: Duration,
    ) -> Result<(), JournalError>;

    /// The workflow versions live processes other than `except` serve (a
    /// version is `current` if any of them starts new runs on it).
    async fn served_versions(&self, except: Uuid) -> Result<Vec<ServedVersion>, JournalError>;

    /// Lets go of a run this process holds but will not serve (it lacks the
    /// run's version, or replaying it on another version drifted): no
    /// process adopts it for `backoff`, then any that can serve it may.
    async fn release_run(&self, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
        let _ = (lease, backoff);
        Ok(())
    }

    /// Lets go of many runs at once (a process shutting down): like
    /// [`release_run`](Self::release_run) for each; a journal shared by
    /// several processes does it in one round trip.
    async fn release_runs(&self, leases: &[Lease], backoff: Duration) -> Result<(), JournalError> {
        for lease in leases {
            self.release_run(lease, backoff).await?;
        }
        Ok(())
    }

    /// Gives back tasks this process holds but will not finish (it is
    /// shutting down): each whose lease is still `lease.token` becomes
    /// claimable at once by any worker, and the attempt it was on is not
    /// counted — a hand-over is not a failure. Tasks whose lease was lost
    /// or that finished meanwhile are left as they are.
    async fn release_tasks(&self, leases: &[TaskLease]) -> Result<(), JournalError>;

    /// Takes over `runs` (a fresh lease each, fencing out any previous
    /// holder, as [`acquire_run`](Self::acquire_run)) and reads each one's
    /// row and history, for a process adopting many runs at once. Runs
    /// that are missing or no longer running are left out. A journal
    /// shared by several processes does it in a few round trips for the
    /// whole batch.
    async fn load_runs(&self, runs: &[RunId]) -> Result<Vec<LoadedRun>, JournalError> {
        let mut loaded = Vec::with_capacity(runs.len());
        for &run in runs {
            let lease = match self.acquire_run(run).await {
                Ok(lease) => lease,
                Err(JournalError::RunNotFound(_) | JournalError::RunTerminal { .. }) => continue,
                Err(e) => return Err(e),
            };
            let info = self.run_info(run).await?;
            let history = self.history(run).await;
            loaded.push(LoadedRun { info, lease, history });
        }
        Ok(loaded)
    }

    /// Work waiting in the journal for `runs`: finished activity tasks
    /// whose outcome is not in their run's history, unconsumed mailbox
    /// signals, outcomes of children their parent has not journaled. A
    /// process reads it when it loads a run, when another process hints
    /// that work arrived ([`run_wakeups`](Self::run_wakeups)), and
    /// periodically, so such work is never stranded.
    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError>;

    /// The live tip of the `continue_as_new` chain `run` belongs to: `run`
    /// itself unless it continued, else its successor's tip.
    async fn chain_tip(&self, run: RunId) -> Result<RunId, JournalError>;

    /// The running children of `run` (whose parent it is).
    async fn running_children(&self, run: RunId) -> Result<Vec<RunId>, JournalError>;

    /// Hints that runs have work another process recorded (see
    /// [`RunWake`]), for journals shared by several processes; `None` if
    /// the journal has no such channel (the periodic
    /// [`pending_work`](Self::pending_work) check still runs).
    fn run_wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<RunWake>> {
        None
    }

    /// The status of each of `runs` that exists.
    async fn run_statuses(&self, runs: &[RunId]) -> Result<Vec<(RunId, RunStatus)>, JournalError> {
        let mut out = Vec::with_capacity(runs.len());
        for run in runs {
            match self.run_info(*run).await {
                Ok(info) => out.push((*run, info.status)),
                Err(JournalError::RunNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Which orphaned runs a process can serve (see
/// [`Journal::claim_orphaned_runs`]): those whose exact version it has, and
/// those of a workflow it has whose version no live process registered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Servable {
    /// The process asking.
    pub process: Uuid,
    /// The (workflow, version) pairs it has.
    pub exact: Vec<(String, VersionHash)>,
    /// The workflow names it has (any version, when no live process has
    /// the exact one).
    pub names: Vec<String>,
}

/// What [`Journal::pending_work`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PendingWork {
    /// Finished tasks whose outcome is not in their run's history.
    pub tasks: Vec<TaskOutcome>,
    /// Unconsumed signals, oldest first per run.
    pub signals: Vec<(RunId, MailboxSignal)>,
    /// Outcomes of children not yet journaled by their parents.
    pub children: Vec<ChildReport>,
}
