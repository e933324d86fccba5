//! Graceful shutdown: [`Runtime::shutdown`] hands every run and task this
//! process holds over to the others, in order — stop taking work, let
//! running attempts finish within the grace period (or give their tasks
//! back uncounted), commit, release the runs.

use std::time::Duration;

use tokio::sync::oneshot;
use tracing::info;

use super::readiness::Readiness;
use super::worker::{Drain, DrainReport};
use super::{Command, Runtime};
use crate::error::JournalError;

/// What [`Runtime::shutdown`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Activity attempts that were running and ended within the grace
    /// period; their results are journaled.
    pub attempts_finished: usize,
    /// Activity tasks given back for another worker to run at once, the
    /// attempt they were on not counted: those queued but not started,
    /// and attempts still running when the grace period ran out.
    pub tasks_released: usize,
    /// Runs let go for another process to adopt at once.
    pub runs_released: usize,
}

impl Runtime {
    /// Shuts the runtime down gracefully and hands its work over:
    ///
    /// 1. it stops taking new work: no orphaned run is adopted, no task is
    ///    claimed, and [`readiness`](Self::readiness) reports
    ///    [`Readiness::Draining`]; starts made on it meanwhile are
    ///    journaled for another process to run, as a [`Client`](super::Client)
    ///    does;
    /// 2. activity attempts already running may finish until `grace` has
    ///    passed, and their results are journaled; tasks not started yet
    ///    are given back at once, and attempts still running when `grace`
    ///    runs out are stopped and given back — in both cases the attempt
    ///    is not counted against the task's retry policy;
    /// 3. everything staged is committed, then every run this process
    ///    holds is released and the other processes on the journal are
    ///    told to adopt them now, without waiting for a lease to lapse;
    /// 4. readiness becomes [`Readiness::Drained`].
    ///
    /// A grace of zero stops running attempts at once (nothing journaled
    /// is lost). Calling it again, or concurrently, waits for the first
    /// call and returns what it returned. Afterwards the runtime runs
    /// nothing; [`signal`](Self::signal), [`cancel`](Self::cancel),
    /// [`await_outcome`](Self::await_outcome), [`get_run`](Self::get_run)
    /// and [`history`](Self::history) still work through the journal, as a
    /// [`Client`](super::Client)'s do, and starts are journaled for other
    /// processes.
    ///
    /// Dropping the last clone of a runtime without calling this is a
    /// crash as far as the journal can tell: its runs and tasks are taken
    /// over once their leases lapse, and each running attempt costs an
    /// attempt.
    ///
    /// An error means the runs could not be released (the journal did not
    /// answer): nothing is lost, other processes adopt them once their
    /// leases lapse.
    pub async fn shutdown(&self, grace: Duration) -> Result<ShutdownReport, JournalError> {
        let mut done = self.inner.shutdown.lock().await;
        if let Some(result) = &*done {
            return result.clone();
        }
        self.inner.readiness.mark(Readiness::Draining);
        info!(?grace, "runtime shutting down");
        // 1. The engine takes no new work and leases no new task here.
        let (reply, rx) = oneshot::channel();
        if self.inner.tx.send(Command::Drain(reply)).is_ok() {
            let _ = rx.await;
        }
        // 2. The workers finish or give back what they hold.
        let (reply, rx) = oneshot::channel();
        let pool = if self.inner.pool.send(Drain { grace, reply }).is_ok() {
            rx.await.unwrap_or_default()
        } else {
            DrainReport::default()
        };
        // 3. Their results are committed, then every run is released.
        let (reply, rx) = oneshot::channel();
        let released = match self.inner.tx.send(Command::Release(reply)) {
            Ok(()) => rx.await.unwrap_or(Ok(0)),
            Err(_) => Ok(0),
        };
        let result = released.map(|runs_released| ShutdownReport {
            attempts_finished: pool.finished,
            tasks_released: pool.released,
            runs_released,
        });
        match &result {
            Ok(report) => info!(?report, "runtime shut down; its work is handed over"),
            Err(e) => {
                tracing::warn!(error = %e, "runtime shut down, but its runs could not be released; their leases lapse instead");
            }
        }
        self.inner.readiness.mark(Readiness::Drained);
        *done = Some(result.clone());
        result
    }

    /// Where the runtime stands: ready, degraded (the journal does not
    /// answer), draining or drained. See [`Readiness`].
    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.get()
    }

    /// A receiver that sees every change of [`readiness`](Self::readiness)
    /// (for a health endpoint that waits, or a process that exits once
    /// drained).
    pub fn watch_readiness(&self) -> tokio::sync::watch::Receiver<Readiness> {
        self.inner.readiness.subscribe()
    }
}
