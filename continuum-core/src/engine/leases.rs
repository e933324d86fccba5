//! Run leases: renewing the leases of every run this engine serves
//! (dropping those another process took over) and, at the same beat,
//! adopting runs whose owner stopped renewing.
//!
//! Leases are taken when a run is loaded (`recovery.rs`) or created (the
//! commit); this file only keeps them and lets them go.

use tracing::{info, warn};

use super::Engine;
use crate::error::JournalError;
use crate::ids::RunId;
use crate::journal::Lease;

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
    /// started them) — that this process can serve. Stages.
    pub async fn adopt_orphans(&mut self) {
        if self.draining {
            return;
        }
        loop {
            match self.journal.claim_orphaned_runs(64, &self.servable()).await {
                Ok(runs) => {
                    let full = runs.len() >= 64;
                    for run in runs {
                        info!(run_id = %run, "adopting a run no process holds");
                        self.ensure_live(run).await;
                    }
                    if !full {
                        return;
                    }
                }
                Err(e) => {
                    warn!(error = %e, "looking for orphaned runs failed; retrying at the next renewal");
                    return;
                }
            }
        }
    }
}
