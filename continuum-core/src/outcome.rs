//! How a run ended, as its terminal event records it and as waiters and
//! parents receive it.

use crate::error::RunFailure;
use crate::event::Event;
use crate::payload::Payload;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The workflow returned `Ok` with this encoded output.
    Completed(Payload),
    /// The run failed.
    Failed(RunFailure),
    /// The run was cancelled.
    Cancelled(Option<String>),
}

impl RunOutcome {
    /// The outcome a terminal event records.
    pub fn from_event(event: &Event) -> Option<Self> {
        match event {
            Event::RunCompleted { output } => Some(Self::Completed(output.clone())),
            Event::RunFailed { failure } => Some(Self::Failed(failure.clone())),
            Event::RunCancelled { reason } => Some(Self::Cancelled(reason.clone())),
            _ => None,
        }
    }
}
