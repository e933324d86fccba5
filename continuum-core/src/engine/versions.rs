//! Workflow versions across processes: this process registers the
//! versions it serves (and that it is alive), learns which versions other
//! live processes serve, and audits runs no live process can serve.
//!
//! Never loads or replays a run; `recovery.rs` uses what is learned here
//! to decide whether a run is this process's to serve.

use super::Engine;
use crate::error::JournalError;
use crate::journal::Servable;

impl Engine {
    /// Records this process's workflow versions in the journal (and that
    /// it is alive), and learns which versions other live processes serve.
    pub(super) async fn refresh_versions(&mut self) -> Result<(), JournalError> {
        self.journal.register_versions(self.process, &self.registry.served(), self.liveness()).await?;
        // On a journal only this process uses, no other process serves
        // anything (another runtime on it is this process restarted).
        self.elsewhere = if self.journal.run_leases_expire() {
            self.journal.served_versions(self.process).await?.into_iter().map(|s| (s.workflow, s.version)).collect()
        } else {
            std::collections::HashSet::new()
        };
        Ok(())
    }

    /// How long this process's version registration counts as alive
    /// without renewal: several renewal periods.
    fn liveness(&self) -> std::time::Duration {
        (self.config.lease_renewal * 6).max(std::time::Duration::from_secs(1))
    }

    /// What this process can serve, for adopting orphaned runs.
    pub(super) fn servable(&self) -> Servable {
        Servable { process: self.process, exact: self.registry.versions(), names: self.registry.workflow_names() }
    }

    /// Runs that have not ended and that no registered version serves: not
    /// this process's (exactly), nor another live process's. They resume
    /// only on a version they did not start on (if this process has their
    /// workflow), or not at all — the audit for rolling deploys.
    pub async fn unservable_runs(&mut self) -> Result<Vec<crate::journal::RunInfo>, JournalError> {
        self.refresh_versions().await?;
        let mut out = Vec::new();
        for run in self.journal.active_runs().await? {
            let info = match self.journal.run_info(run).await {
                Ok(info) => info,
                Err(JournalError::RunNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let served = self.registry.workflow_version(&info.workflow, info.version).is_some()
                || self.elsewhere.contains(&(info.workflow.clone(), info.version));
            if !served {
                out.push(info);
            }
        }
        Ok(out)
    }
}
