//! Graceful hand-over: an engine that is shutting down takes no new work
//! and, once its workers are done, commits what it holds and lets go of
//! every run, so other processes adopt them at once instead of waiting
//! for the leases to lapse.
//!
//! The order of the steps is the runtime's (`runtime/shutdown.rs`); this
//! file is the engine's part of it.

use std::time::Duration;

use tracing::{info, warn};

use super::Engine;
use crate::error::JournalError;
use crate::journal::{Lease, TaskLease};

impl Engine {
    /// Stops taking new work: no orphaned run is adopted and no client
    /// start is taken (it is refused with `StartError::Shutdown`); activity
    /// tasks scheduled from now on wait in the journal for any worker
    /// instead of being leased to this process's.
    pub fn begin_drain(&mut self) {
        self.draining = true;
        self.local = None;
    }

    /// Whether [`begin_drain`](Self::begin_drain) was called.
    pub fn is_draining(&self) -> bool {
        self.draining
    }

    /// Commits everything staged, then lets go of every run this engine
    /// holds (live or parked) for any process to adopt now, and withdraws
    /// its version registrations. Returns how many runs were released.
    /// Attempt results that could not be journaled with their run are
    /// recorded on their tasks first, so none is lost.
    ///
    /// After this the engine holds nothing; it must not be driven again.
    pub async fn release_all(&mut self) -> Result<usize, JournalError> {
        self.begin_drain();
        // Settle every commit in flight and everything staged.
        self.commit().await;
        let mut leases: Vec<Lease> =
            self.live.values().filter(|l| !l.terminal && l.pending_create.is_none()).map(|l| l.lease.clone()).collect();
        leases.extend(self.parked.values().cloned());
        let runs: Vec<_> = self.live.keys().chain(self.parked.keys()).copied().collect();
        for run in runs {
            self.drop_run(run);
        }
        for (task, result) in std::mem::take(&mut self.handed_back) {
            if let Err(e) = self.journal.finish_attempt(&task, result).await {
                warn!(run_id = %task.run, seq = task.seq, error = %e, "activity result rejected at shutdown");
            }
        }
        // Tasks the last commits leased to this process's workers, which
        // have stopped: back to the journal, their attempt not counted.
        let leased: Vec<TaskLease> = std::mem::take(&mut self.dispatch)
            .into_iter()
            .map(|t| TaskLease { run: t.run, seq: t.seq, token: t.token })
            .collect();
        if let Err(e) = self.journal.release_tasks(&leased).await {
            warn!(error = %e, tasks = leased.len(), "giving back tasks failed; their leases lapse instead");
        }
        let released = self.journal.release_runs(&leases, Duration::ZERO).await.map(|()| leases.len());
        // Other processes stop counting on this one for its versions.
        let withdrawn = self.journal.register_versions(self.process, &self.registry.served(), Duration::ZERO).await;
        if let Err(e) = withdrawn {
            warn!(error = %e, "withdrawing this process's version registrations failed; they lapse on their own");
        }
        if let Ok(n) = released {
            info!(runs = n, "released every run this process held");
        }
        released
    }
}
