//! A journal that fails on purpose: [`FaultyJournal`] wraps any journal
//! and, on the operations a test names, fails a number of times with a
//! chosen error, waits before going on, or refuses the writes of chosen
//! runs — so a test can show what the engine does when its journal
//! misbehaves (a read that fails while a timer is due, a commit that
//! stalls, a write the store rejects) without a real outage.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use continuum_core::{InMemoryJournal, JournalError};
//! use continuum_testkit::faults::{FaultyJournal, Op};
//!
//! let journal = FaultyJournal::new(Arc::new(InMemoryJournal::new()));
//! journal.fail(Op::History, 2, JournalError::Unavailable("connection reset".into()));
//! journal.delay(Op::Commit, Duration::from_millis(5));
//! // Runtime::builder().journal(journal.clone()) …
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use continuum_core::error::JournalError;
use continuum_core::event::HistoryEvent;
use continuum_core::ids::RunId;
use continuum_core::journal::{
    ActivityTask, AttemptResult, Claim, Journal, Lease, MailboxSignal, NewRun, PendingWork, RunAppend, RunInfo,
    RunStatus, RunWake, RunWrite, Servable, ServedVersion, StoredResult, TaskLease, TaskOutcome, Written,
};
use continuum_core::payload::Payload;
use uuid::Uuid;

/// A journal operation a fault can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// [`Journal::commit`] (and `append`, `create_run`).
    Commit,
    /// [`Journal::history`].
    History,
    /// [`Journal::run_info`].
    RunInfo,
    /// [`Journal::acquire_run`] and [`Journal::reacquire_run`].
    Acquire,
    /// [`Journal::pending_work`].
    PendingWork,
    /// [`Journal::mailbox`].
    Mailbox,
    /// [`Journal::send_signal`].
    SendSignal,
    /// [`Journal::claim_tasks`].
    ClaimTasks,
    /// [`Journal::finish_attempt`].
    FinishAttempt,
    /// [`Journal::renew_run_leases`].
    RenewLeases,
    /// [`Journal::claim_orphaned_runs`].
    ClaimOrphans,
    /// [`Journal::active_runs`].
    ActiveRuns,
    /// [`Journal::register_versions`] and [`Journal::served_versions`].
    Versions,
}

type WriteFilter = Box<dyn Fn(&RunWrite) -> bool + Send + Sync>;

#[derive(Default)]
struct Faults {
    failures: HashMap<Op, (usize, Option<JournalError>)>,
    delays: HashMap<Op, Duration>,
    refuse: Option<WriteFilter>,
    calls: HashMap<Op, usize>,
}

/// A journal wrapping another, with faults a test injects. See the module
/// docs.
pub struct FaultyJournal {
    inner: Arc<dyn Journal>,
    faults: Mutex<Faults>,
}

impl std::fmt::Debug for FaultyJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyJournal").finish_non_exhaustive()
    }
}

impl FaultyJournal {
    /// Wraps `inner`; no fault until one is set.
    pub fn new(inner: Arc<dyn Journal>) -> Arc<Self> {
        Arc::new(Self { inner, faults: Mutex::default() })
    }

    fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next `times` calls of `op` fail with `error` (and do nothing).
    pub fn fail(&self, op: Op, times: usize, error: JournalError) {
        self.faults().failures.insert(op, (times, Some(error)));
    }

    /// Every call of `op` waits `by` before it goes on (zero: no wait).
    pub fn delay(&self, op: Op, by: Duration) {
        self.faults().delays.insert(op, by);
    }

    /// Writes for which `refuse` answers true are refused with
    /// [`JournalError::WriteRefused`] (the others of the same commit are
    /// applied), as a store rejecting a value would.
    pub fn refuse_writes(&self, refuse: impl Fn(&RunWrite) -> bool + Send + Sync + 'static) {
        self.faults().refuse = Some(Box::new(refuse));
    }

    /// Lifts every fault.
    pub fn heal(&self) {
        let mut faults = self.faults();
        faults.failures.clear();
        faults.delays.clear();
        faults.refuse = None;
    }

    /// How many times `op` was called so far (failed calls included).
    pub fn calls(&self, op: Op) -> usize {
        self.faults().calls.get(&op).copied().unwrap_or_default()
    }

    /// Applies the faults set for `op`: waits, then fails if one is due.
    async fn enter(&self, op: Op) -> Result<(), JournalError> {
        let (delay, failure) = {
            let mut faults = self.faults();
            *faults.calls.entry(op).or_default() += 1;
            let delay = faults.delays.get(&op).copied().unwrap_or_default();
            let failure = match faults.failures.get_mut(&op) {
                Some((left, error)) if *left > 0 => {
                    *left -= 1;
                    error.clone()
                }
                _ => None,
            };
            (delay, failure)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        failure.map_or(Ok(()), Err)
    }
}

#[async_trait]
impl Journal for FaultyJournal {
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError> {
        self.enter(Op::Commit).await?;
        self.inner.create_run(run).await
    }
    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError> {
        self.enter(Op::Acquire).await?;
        self.inner.acquire_run(run).await
    }
    async fn reacquire_run(&self, lease: &Lease) -> Result<Lease, JournalError> {
        self.enter(Op::Acquire).await?;
        self.inner.reacquire_run(lease).await
    }
    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError> {
        self.enter(Op::RunInfo).await?;
        self.inner.run_info(run).await
    }
    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError> {
        self.inner.find_workflow_id(workflow_id).await
    }
    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
        self.enter(Op::History).await?;
        self.inner.history(run).await
    }
    async fn append(&self, append: RunAppend) -> Result<(), JournalError> {
        self.enter(Op::Commit).await?;
        self.inner.append(append).await
    }
    async fn commit(&self, writes: Vec<RunWrite>) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
        self.enter(Op::Commit).await?;
        let refused: Vec<bool> = {
            let faults = self.faults();
            writes.iter().map(|w| faults.refuse.as_ref().is_some_and(|refuse| refuse(w))).collect()
        };
        let mut out: Vec<Option<Result<Written, JournalError>>> = refused
            .iter()
            .zip(&writes)
            .map(|(&r, w)| {
                r.then(|| {
                    Err(JournalError::WriteRefused { run: w.append.lease.run, detail: "refused by the test".into() })
                })
            })
            .collect();
        let passed: Vec<RunWrite> = writes.into_iter().zip(&refused).filter(|(_, r)| !**r).map(|(w, _)| w).collect();
        let mut results = self.inner.commit(passed).await?.into_iter();
        for slot in &mut out {
            if slot.is_none() {
                *slot = results.next();
            }
        }
        Ok(out
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(JournalError::Backend("the wrapped journal answered too few writes".into())))
            })
            .collect())
    }
    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError> {
        self.enter(Op::ActiveRuns).await?;
        self.inner.active_runs().await
    }
    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError> {
        self.enter(Op::SendSignal).await?;
        self.inner.send_signal(run, name, payload).await
    }
    async fn send_signal_once(
        &self,
        run: RunId,
        name: &str,
        payload: Payload,
        delivery_id: &str,
    ) -> Result<Option<MailboxSignal>, JournalError> {
        self.enter(Op::SendSignal).await?;
        self.inner.send_signal_once(run, name, payload, delivery_id).await
    }
    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError> {
        self.enter(Op::Mailbox).await?;
        self.inner.mailbox(run).await
    }
    async fn claim_tasks(
        &self,
        max: usize,
        ttl: Duration,
        activities: Option<&[String]>,
    ) -> Result<Claim, JournalError> {
        self.enter(Op::ClaimTasks).await?;
        self.inner.claim_tasks(max, ttl, activities).await
    }
    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError> {
        self.inner.heartbeat_task(task, ttl).await
    }
    async fn heartbeat_tasks(&self, leases: &[TaskLease], ttl: Duration) -> Result<Vec<TaskLease>, JournalError> {
        self.inner.heartbeat_tasks(leases, ttl).await
    }
    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError> {
        self.enter(Op::FinishAttempt).await?;
        self.inner.finish_attempt(task, result).await
    }
    async fn store_result(&self, stored: StoredResult) -> Result<Payload, JournalError> {
        self.inner.store_result(stored).await
    }
    async fn finished_tasks(&self, run: RunId) -> Result<Vec<TaskOutcome>, JournalError> {
        self.inner.finished_tasks(run).await
    }
    async fn next_task_due(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        self.inner.next_task_due().await
    }
    async fn wait_for_tasks(&self, max_wait: Duration) {
        self.inner.wait_for_tasks(max_wait).await;
    }
    fn run_leases_expire(&self) -> bool {
        self.inner.run_leases_expire()
    }
    async fn renew_run_leases(&self, leases: &[Lease]) -> Result<Vec<RunId>, JournalError> {
        self.enter(Op::RenewLeases).await?;
        self.inner.renew_run_leases(leases).await
    }
    async fn claim_orphaned_runs(&self, max: usize, servable: &Servable) -> Result<Vec<RunId>, JournalError> {
        self.enter(Op::ClaimOrphans).await?;
        self.inner.claim_orphaned_runs(max, servable).await
    }
    async fn register_versions(
        &self,
        process: Uuid,
        versions: &[ServedVersion],
        alive_for: Duration,
    ) -> Result<(), JournalError> {
        self.enter(Op::Versions).await?;
        self.inner.register_versions(process, versions, alive_for).await
    }
    async fn served_versions(&self, except: Uuid) -> Result<Vec<ServedVersion>, JournalError> {
        self.enter(Op::Versions).await?;
        self.inner.served_versions(except).await
    }
    async fn release_run(&self, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
        self.inner.release_run(lease, backoff).await
    }
    async fn release_runs(&self, leases: &[Lease], backoff: Duration) -> Result<(), JournalError> {
        self.inner.release_runs(leases, backoff).await
    }
    async fn release_tasks(&self, leases: &[TaskLease]) -> Result<(), JournalError> {
        self.inner.release_tasks(leases).await
    }
    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError> {
        self.enter(Op::PendingWork).await?;
        self.inner.pending_work(runs).await
    }
    async fn chain_tip(&self, run: RunId) -> Result<RunId, JournalError> {
        self.inner.chain_tip(run).await
    }
    async fn running_children(&self, run: RunId) -> Result<Vec<RunId>, JournalError> {
        self.inner.running_children(run).await
    }
    fn run_wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<RunWake>> {
        self.inner.run_wakeups()
    }
    async fn run_statuses(&self, runs: &[RunId]) -> Result<Vec<(RunId, RunStatus)>, JournalError> {
        self.inner.run_statuses(runs).await
    }
}
