//! Outcomes recorded in the journal: the end of a run (or of its
//! `continue_as_new` chain) read back, and a watcher that publishes the
//! outcomes of awaited runs that ended in another process.

use std::sync::Arc;
use std::time::Duration;

use tracing::debug;

use crate::engine::Outcomes;
use crate::error::JournalError;
use crate::ids::RunId;
use crate::journal::{Journal, RunStatus};
use crate::outcome::RunOutcome;

/// The outcome the journal records for `run` — for a `continue_as_new`
/// chain, for its last run — if it has ended.
pub(super) async fn recorded_outcome_of(journal: &dyn Journal, run: RunId) -> Result<Option<RunOutcome>, JournalError> {
    let mut info = journal.run_info(run).await?;
    if info.status == RunStatus::Continued {
        info = journal.run_info(journal.chain_tip(run).await?).await?;
    }
    let run = info.id;
    if !info.status.is_terminal() || info.status == RunStatus::Continued {
        return Ok(None);
    }
    let history = match journal.history(run).await {
        Ok(history) => history,
        // The history cannot be read back; the engine failed the run for
        // exactly this reason.
        Err(JournalError::CorruptEvent { run, seq, detail }) => {
            return Ok(Some(RunOutcome::Failed(crate::error::RunFailure::undecodable_event(run, seq, detail))));
        }
        Err(e) => return Err(e),
    };
    Ok(history.last().and_then(|e| RunOutcome::from_event(&e.event)))
}

/// Publishes the outcomes of awaited runs that ended in other processes
/// (runs move between processes sharing a journal): one journal query for
/// all waiters, a few times a second.
pub(super) async fn watch_remote_outcomes(journal: Arc<dyn Journal>, outcomes: Arc<Outcomes>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let waiting = outcomes.awaited();
        if waiting.is_empty() {
            continue;
        }
        let ended = match journal.run_statuses(&waiting).await {
            Ok(statuses) => statuses.into_iter().filter(|(_, s)| s.is_terminal()).map(|(r, _)| r),
            Err(e) => {
                debug!(error = %e, "checking awaited runs failed; retrying");
                continue;
            }
        };
        for run in ended.collect::<Vec<_>>() {
            match recorded_outcome_of(journal.as_ref(), run).await {
                Ok(Some(outcome)) => outcomes.publish(run, outcome),
                Ok(None) => {}
                Err(e) => debug!(run_id = %run, error = %e, "reading an ended run's outcome failed; retrying"),
            }
        }
    }
}
