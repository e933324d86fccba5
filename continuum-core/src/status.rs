//! Where a run stands: its status in the journal.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Not finished.
    Running,
    /// Returned `Ok`.
    Completed,
    /// Returned `Err`, panicked, or could not be replayed.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Continued as a new run (`continue_as_new`); the chain goes on in
    /// its successor.
    Continued,
}

impl RunStatus {
    /// Whether the run has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, RunStatus::Running)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Continued => "continued",
        })
    }
}
