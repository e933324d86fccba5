//! Run leases: renewing the leases of every run this engine serves
//! (dropping those another process took over) and, at the same beat,
//! adopting runs whose owner stopped renewing.
//!
//! Leases are taken when a run is loaded (`recovery.rs`) or created (the
//! commit); this file only keeps them and lets them go.

use std::time::Duration;

use tracing::{info, warn};

use super::Engine;
use crate::error::JournalError;
use crate::ids::RunId;
use crate::journal::{Lease, PendingWork};

impl Engine {
    /// Renews the leases of the runs this engine serves (dropping those
    /// another process took over), delivers work that reached the journal
    /// without reaching the engine, reloads runs whose last commit failed,
    /// and adopts runs whose owner died. Called periodically by the
    /// runtime. Commits. An error is the renewal's: the journal did not
    /// answer (the rest is retried at the next renewal either way).
    pub async fn maintain_leases(&mut self) -> Result<(), JournalError> {
        // Settle what is in flight first: a run's lease is known once its
        // creation is confirmed.
        self.commit().await;
        let mut leases: Vec<Lease> =
            self.live.values().filter(|l| !l.terminal && l.pending_create.is_none()).map(|l| l.lease.clone()).collect();
        leases.extend(self.parked.values().cloned());
        let renewed = match self.journal.renew_run_leases(&leases).await {
            Ok(lost) => {
                for run in lost {
                    info!(run_id = %run, "run lease taken over by another process; dropping the run");
                    self.drop_run(run);
                }
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "renewing run leases failed; retrying at the next renewal");
                Err(e)
            }
        };
        if let Err(e) = self.refresh_versions().await {
            warn!(error = %e, "registering this process's workflow versions failed; retrying at the next renewal");
        }
        let served: Vec<RunId> = self.live.keys().chain(self.parked.keys()).copied().collect();
        self.take_pending_work(served).await;
        self.reload_runs().await;
        self.adopt_orphans().await;
        self.commit().await;
        renewed
    }

    /// Adopts runs no process holds — their owner stopped renewing its
    /// lease, let go of them on shutdown, or never held them (a client
    /// started them) — that this process can serve. Batches of
    /// 256 runs are taken over and read in one
    /// [`Journal::load_runs`](crate::journal::Journal::load_runs) and one
    /// `pending_work` call, then replayed. Stages.
    pub async fn adopt_orphans(&mut self) {
        if self.draining {
            return;
        }
        loop {
            let runs = match self.journal.claim_orphaned_runs(ADOPTION_BATCH, &self.servable()).await {
                Ok(runs) => runs,
                Err(e) => {
                    warn!(error = %e, "looking for orphaned runs failed; retrying at the next renewal");
                    return;
                }
            };
            let full = runs.len() >= ADOPTION_BATCH;
            if runs.is_empty() {
                return;
            }
            info!(runs = runs.len(), "adopting runs no process holds");
            if let Err(e) = self.prefetch(&runs).await {
                warn!(error = %e, "reading orphaned runs failed; loading them one by one");
            }
            for run in runs {
                let lease = self.prefetched.get(&run).map(|(l, _)| l.lease.clone());
                if !self.ensure_live(run).await
                    && let Some(lease) = lease
                    && !self.parked.contains_key(&run)
                {
                    // Taken over but not served here after all: let go at once.
                    let _ = self.journal.release_run(&lease, Duration::ZERO).await;
                }
            }
            self.prefetched.clear();
            if !full {
                return;
            }
        }
    }

    /// Takes over and reads a batch of runs for [`adopt_orphans`](Self::adopt_orphans).
    async fn prefetch(&mut self, runs: &[RunId]) -> Result<(), JournalError> {
        let loaded = self.journal.load_runs(runs).await?;
        let ids: Vec<RunId> = loaded.iter().map(|l| l.info.id).collect();
        let mut pending = self.journal.pending_work(&ids).await?;
        for l in loaded {
            let run = l.info.id;
            let mine = PendingWork {
                tasks: take_where(&mut pending.tasks, |t| t.run == run),
                signals: take_where(&mut pending.signals, |(r, _)| *r == run),
                children: take_where(&mut pending.children, |c| c.parent == run),
            };
            self.prefetched.insert(run, (l, mine));
        }
        Ok(())
    }
}

/// Runs adopted per batch.
const ADOPTION_BATCH: usize = 256;

/// Moves the items matching `pick` out of `items`, in order.
fn take_where<T>(items: &mut Vec<T>, pick: impl Fn(&T) -> bool) -> Vec<T> {
    let (taken, kept) = std::mem::take(items).into_iter().partition(|t| pick(t));
    *items = kept;
    taken
}
