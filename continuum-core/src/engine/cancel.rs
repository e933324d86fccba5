//! Cancellation: journaling `RunCancelled` for a run (live here, parked,
//! or held by no one here) and cascading to its running descendants; the
//! same end for a run whose execution timeout passed (`RunFailed`).
//!
//! A run that already ended, in memory or in the journal, keeps its end:
//! the cancel reports it instead of writing a second terminal event.

use tracing::{info, warn};

use super::Engine;
use crate::error::{CancelError, JournalError, RunFailure};
use crate::event::Event;
use crate::ids::RunId;
use crate::journal::RunStatus;

impl Engine {
    /// Cancels a run: journals `RunCancelled`, drops its future and its
    /// timers, then cancels its running descendants (children,
    /// grandchildren…, up to [`EngineConfig::max_child_depth`](super::EngineConfig::max_child_depth) levels).
    /// Nothing is appended to a cancelled run afterwards. Commits (with
    /// whatever else is staged).
    pub async fn cancel(&mut self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        // Addressed to any run of a `continue_as_new` chain, the cancel
        // reaches its live tip.
        let run = self.journal.chain_tip(run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => CancelError::RunNotFound(r),
            other => CancelError::Journal(other),
        })?;
        self.cancel_run(run, reason.clone()).await?;
        self.cancel_descendants(run, reason).await;
        Ok(())
    }

    async fn cancel_run(&mut self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        let status = |e: JournalError| match e {
            JournalError::RunNotFound(r) => CancelError::RunNotFound(r),
            other => CancelError::Journal(other),
        };
        let info = self.journal.run_info(run).await.map_err(status)?;
        if info.status.is_terminal() {
            return Err(CancelError::RunTerminal { run, status: info.status });
        }
        let event = Event::RunCancelled { reason: reason.clone() };
        if self.parked.contains_key(&run) {
            self.ensure_live(run).await;
        }
        if let Some(live) = self.live.get_mut(&run) {
            if live.terminal {
                // The run ended in memory; its end is not journaled yet.
                // It wins: commit it and report it.
                self.commit().await;
                let info = self.journal.run_info(run).await.map_err(status)?;
                return Err(CancelError::RunTerminal { run, status: info.status });
            }
            let now = self.clock.now();
            live.cancel(event, now);
            self.mark_dirty(run);
            self.commit().await;
        } else {
            let lease = self.journal.acquire_run(run).await.map_err(|e| match e {
                JournalError::RunTerminal { run, status } => CancelError::RunTerminal { run, status },
                other => CancelError::Journal(other),
            })?;
            self.end_unheld(lease, event).await.map_err(CancelError::Journal)?;
        }
        match self.journal.run_info(run).await {
            Ok(i) if i.status == RunStatus::Cancelled => {
                info!(run_id = %run, workflow = %info.workflow, "run cancelled");
                Ok(())
            }
            Ok(i) if i.status.is_terminal() => Err(CancelError::RunTerminal { run, status: i.status }),
            Ok(_) => Err(CancelError::Journal(JournalError::Backend(format!(
                "the cancel of run {run} was not journaled (its write failed); the run goes on — retry the cancel"
            )))),
            Err(e) => Err(CancelError::Journal(e)),
        }
    }

    /// Ends a live run whose execution timeout passed: journals `RunFailed`
    /// with [`RunFailure::ExecutionTimedOut`], then cancels its running
    /// descendants. A run that ended meanwhile keeps its end.
    pub(super) async fn expire(&mut self, run: RunId) {
        let Some(live) = self.live.get_mut(&run) else { return };
        let Some(deadline) = live.deadline.filter(|_| !live.terminal) else { return };
        warn!(run_id = %run, workflow = live.workflow.name, %deadline, "the run's execution timeout passed; failing it");
        let now = self.clock.now();
        live.cancel(Event::RunFailed { failure: RunFailure::ExecutionTimedOut { deadline } }, now);
        self.mark_dirty(run);
        self.cancel_descendants(run, Some(format!("the execution timeout of its ancestor {run} passed"))).await;
    }

    /// Cancels the running descendants of a cancelled run, level by level.
    async fn cancel_descendants(&mut self, root: RunId, reason: Option<String>) {
        let mut level = vec![root];
        for _ in 0..=self.config.max_child_depth {
            let mut next = Vec::new();
            for parent in level {
                let children = match self.journal.running_children(parent).await {
                    Ok(children) => children,
                    Err(e) => {
                        warn!(run_id = %parent, error = %e, "listing children to cancel failed; they go on");
                        continue;
                    }
                };
                for child in children {
                    match self.cancel_run(child, reason.clone()).await {
                        Ok(()) | Err(CancelError::RunTerminal { .. }) => {}
                        Err(e) => warn!(run_id = %child, parent_id = %parent, error = %e, "cancelling a child failed"),
                    }
                    next.push(child);
                }
            }
            if next.is_empty() {
                return;
            }
            level = next;
        }
        warn!(run_id = %root, max = self.config.max_child_depth,
            "the cancel cascade stopped at the maximum child depth; deeper descendants go on");
    }
}
