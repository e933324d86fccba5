//! Outcomes published to waiters: those awaiting a run's end subscribe
//! here, and are forwarded along a `continue_as_new` chain.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

use crate::ids::RunId;
use crate::outcome::RunOutcome;

/// Terminal outcomes published to waiters.
#[derive(Default)]
pub(crate) struct Outcomes {
    /// Per run, the channels of those waiting on it: one of its own, plus
    /// those forwarded from the runs it continues.
    waiting: Mutex<HashMap<RunId, Vec<watch::Sender<Option<RunOutcome>>>>>,
}

impl Outcomes {
    pub(crate) fn subscribe(&self, run: RunId) -> watch::Receiver<Option<RunOutcome>> {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let senders = w.entry(run).or_default();
        match senders.first() {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = watch::channel(None);
                senders.push(sender);
                receiver
            }
        }
    }

    /// Runs someone is waiting on.
    pub(crate) fn awaited(&self) -> Vec<RunId> {
        let w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        w.iter().filter(|(_, s)| s.iter().any(|s| s.receiver_count() > 0)).map(|(r, _)| *r).collect()
    }

    pub(crate) fn publish(&self, run: RunId, outcome: RunOutcome) {
        let senders = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&run);
        for sender in senders.into_iter().flatten() {
            sender.send_replace(Some(outcome.clone()));
        }
    }

    /// `run` continued as `next`: those waiting on it wait on `next` now.
    pub(crate) fn forward(&self, run: RunId, next: RunId) {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(senders) = w.remove(&run) {
            w.entry(next).or_default().extend(senders);
        }
    }

    pub(crate) fn forget(&self, run: RunId) {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if w.get(&run).is_some_and(|s| s.iter().all(|s| s.receiver_count() == 0)) {
            w.remove(&run);
        }
    }
}
