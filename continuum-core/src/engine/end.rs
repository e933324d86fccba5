//! Ending a run the engine does not hold live: its terminal event written
//! straight to the journal under a lease — a cancel from outside, a run
//! whose history does not decode, a run whose writes the journal rejects
//! for good — with, as when a run ends live, its end left for its parent
//! in the same write.
//!
//! Never replays the run: what happens here must not depend on its code.

use tracing::{error, warn};

use super::Engine;
use crate::error::{JournalError, RunFailure};
use crate::event::{Event, HistoryEvent, ParentRef};
use crate::ids::RunId;
use crate::journal::{ChildReport, Journal, Lease, RunAppend, RunWrite};
use crate::outcome::RunOutcome;

impl Engine {
    /// Journals `event` (a terminal event) as the run's next event under
    /// `lease`, leaving its end for its parent, and acts on it: timers
    /// dropped, waiters and a parent served here told.
    pub(super) async fn end_unheld(&mut self, lease: Lease, event: Event) -> Result<(), JournalError> {
        let run = lease.run;
        let Some(outcome) = RunOutcome::from_event(&event) else {
            return Err(JournalError::Backend(format!("{} does not end a run", event.type_name())));
        };
        let info = self.journal.run_info(run).await?;
        let mut append =
            RunAppend::events(lease, vec![HistoryEvent { seq: info.last_seq + 1, at: self.clock.now(), event }]);
        // A child's end is left for its parent in the same write, as when
        // the child ends live: the parent's `ctx.child(..)` resolves
        // wherever it runs.
        let report = parent_of(self.journal.as_ref(), run).await?.map(|parent| ChildReport {
            parent: parent.run,
            command: parent.command,
            outcome: outcome.clone(),
        });
        append.child_report.clone_from(&report);
        match self.journal.commit(vec![RunWrite { create: None, append }]).await?.pop() {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(JournalError::Backend("the journal answered no write".into())),
        }
        self.drop_run(run);
        self.outcomes.publish(run, outcome);
        if let Some(report) = report {
            self.deliver_child_report(report);
        }
        Ok(())
    }

    /// Fails the runs whose writes the journal rejects for good
    /// ([`JournalError::WriteRefused`]) with [`RunFailure::WriteRefused`],
    /// so they end instead of retrying the same write forever.
    pub async fn fail_refused_runs(&mut self) {
        for (lease, detail) in std::mem::take(&mut self.refused) {
            let run = lease.run;
            let event = Event::RunFailed { failure: RunFailure::WriteRefused { detail } };
            match self.end_unheld(lease, event).await {
                Ok(()) => error!(run_id = %run, "run failed: the journal rejects its writes"),
                Err(e) => {
                    // Left as it is: its lease lapses and whoever adopts it
                    // meets the same refusal.
                    warn!(run_id = %run, error = %e, "failing a run whose write was rejected failed too");
                    self.drop_run(run);
                }
            }
        }
    }

    /// Whether runs wait to be failed after a rejected write.
    pub fn has_refused(&self) -> bool {
        !self.refused.is_empty()
    }
}

/// The parent a run reports its end to, as its `RunStarted` event names it
/// (a child whose parent continued as new still reports to the run that
/// started it).
async fn parent_of(journal: &dyn Journal, run: RunId) -> Result<Option<ParentRef>, JournalError> {
    let info = journal.run_info(run).await?;
    if info.parent.is_none() {
        return Ok(None);
    }
    match journal.history(run).await {
        Ok(history) => Ok(match history.first().map(|e| &e.event) {
            Some(Event::RunStarted { parent, .. }) => *parent,
            _ => None,
        }),
        // A history that does not decode still has its row's link.
        Err(JournalError::CorruptEvent { .. }) => Ok(info.parent),
        Err(e) => Err(e),
    }
}
