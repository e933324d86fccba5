//! Offline replay: a history replayed through a workflow's code without a
//! journal or an engine — for golden-history tests, paranoid re-replays
//! and deploy checks.

use std::sync::Arc;

use super::run::LiveRun;
use crate::error::RunFailure;
use crate::event::{Event, HistoryEvent};
use crate::ids::{RunId, Seq};
use crate::limits::Limits;
use crate::outcome::RunOutcome;
use crate::payload::Payload;
use crate::workflow::ErasedWorkflow;

/// How an offline replay of a history ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// The code reached the same end the history records (or, for a
    /// history without an end, ended after its last event).
    Ended(RunOutcome),
    /// The code continued as new where the history did, with the same
    /// input.
    Continued {
        /// The successor's input.
        input: Payload,
        /// The successor run the history names.
        next: RunId,
    },
    /// The history ends while the code waits; `open` lists what it waits
    /// on (seq of each open command).
    Waiting {
        /// Seqs of commands issued and not yet resolved.
        open: Vec<Seq>,
    },
}

/// Replays `history` through `workflow`'s code without a journal — for
/// golden-history tests and paranoid re-replays. Fails with the run's
/// failure if the code and the history disagree ([`RunFailure::Drift`]) or
/// a payload does not decode. A history that ended in a failure replays
/// cleanly only if the code fails the same way.
pub fn replay_history(
    workflow: &ErasedWorkflow,
    run: RunId,
    history: Arc<[HistoryEvent]>,
) -> Result<Replayed, RunFailure> {
    let Some(first) = history.first() else {
        return Err(RunFailure::SuspendLeak { detail: "empty history".into() });
    };
    let now = history.last().map_or(first.at, |e| e.at);
    let recorded_end = history.last().and_then(|e| RunOutcome::from_event(&e.event));
    let lease = crate::journal::Lease { run, token: 0 };
    let (mut live, failure) = LiveRun::new(workflow.clone(), run, history, lease, now, Limits::DEFAULT);
    if let Some(f) = failure {
        return Err(f);
    }
    match live.replay(now) {
        None => Ok(Replayed::Waiting { open: live.core().open.keys().copied().collect() }),
        Some(Event::RunContinuedAsNew { input, next }) => match live.continued.take() {
            // Continued past the history's end: the successor is new.
            Some((next, input)) if recorded_end.is_none() => Ok(Replayed::Continued { input, next }),
            Some(_) => Err(RunFailure::SuspendLeak {
                detail: format!("replay continued as new, history recorded {recorded_end:?}"),
            }),
            None => Ok(Replayed::Continued { input, next }),
        },
        Some(end) => {
            let outcome = RunOutcome::from_event(&end).unwrap_or(RunOutcome::Cancelled(None));
            match (&outcome, &recorded_end) {
                (RunOutcome::Failed(f @ RunFailure::Drift { .. } | f @ RunFailure::HistoryDecode { .. }), _) => {
                    Err(f.clone())
                }
                (_, None) => Ok(Replayed::Ended(outcome)),
                (got, Some(want)) if got == want => Ok(Replayed::Ended(outcome)),
                (RunOutcome::Failed(f), Some(_)) => Err(f.clone()),
                (_, Some(_)) => Err(RunFailure::SuspendLeak {
                    detail: format!("replay ended as {outcome:?}, history recorded {recorded_end:?}"),
                }),
            }
        }
    }
}
