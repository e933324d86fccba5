//! The timer wheel: durable timers and signal-wait timeouts of live runs,
//! ordered by due time. Armed only after the command that created a timer
//! is journaled, and re-armed from history when a run is replayed.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::ids::{RunId, Seq};

/// What a due entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// A `ctx.sleep` timer.
    Timer,
    /// The timeout of a `ctx.signal(..).timeout(..)` wait.
    SignalTimeout,
    /// The run's execution timeout (seq 0).
    RunDeadline,
}

#[derive(Default)]
pub(crate) struct TimerWheel {
    due: BTreeSet<(DateTime<Utc>, RunId, Seq, TimerKind)>,
}

impl TimerWheel {
    pub(crate) fn arm(&mut self, at: DateTime<Utc>, run: RunId, seq: Seq, kind: TimerKind) {
        self.due.insert((at, run, seq, kind));
    }

    pub(crate) fn next_due(&self) -> Option<DateTime<Utc>> {
        self.due.first().map(|e| e.0)
    }

    /// Removes and returns every entry due at or before `now`, earliest first.
    pub(crate) fn take_due(&mut self, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, RunId, Seq, TimerKind)> {
        let mut out = Vec::new();
        while let Some(first) = self.due.first() {
            if first.0 > now {
                break;
            }
            if let Some(entry) = self.due.pop_first() {
                out.push(entry);
            }
        }
        out
    }

    /// Drops every entry of `run`.
    pub(crate) fn clear_run(&mut self, run: RunId) {
        self.due.retain(|e| e.1 != run);
    }

    pub(crate) fn len(&self) -> usize {
        self.due.len()
    }
}
