//! Golden histories: a run's history as a file, one JSON event per line.
//!
//! The format is plain JSON Lines so a change shows up in review as a
//! readable diff:
//!
//! ```text
//! {"seq":1,"at":"2026-01-01T00:00:00Z","type":"run_started","workflow":"ship","version":"…","input":{"id":7}}
//! {"seq":2,"at":"2026-01-01T00:00:00Z","type":"activity_scheduled","site":…,"activity":"reserve","input":7}
//! ```
//!
//! [`replay`] feeds a recorded history to today's code and reports a
//! [`ReplayDriftError`] (inside
//! [`GoldenError::Replay`]) when the code would no longer do what the
//! history says it did.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use continuum_core::engine::{Replayed, replay_history};
use continuum_core::workflow::WorkflowRef;
use continuum_core::{ErasedWorkflow, HistoryEvent, ReplayDriftError, RunFailure, Workflow};

/// A golden file could not be read, or its history does not replay.
#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    /// The file could not be read or written.
    #[error("golden file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a history event.
    #[error("golden file {path}, line {line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The history is for another workflow.
    #[error("golden history is for workflow `{found}`, not `{expected}`")]
    WrongWorkflow {
        /// The workflow replayed.
        expected: String,
        /// The workflow recorded.
        found: String,
    },
    /// Replay failed: drift, an undecodable payload, or a different end.
    #[error("{0}")]
    Replay(RunFailure),
}

impl GoldenError {
    /// The drift report, if that is what failed.
    pub fn drift(&self) -> Option<&ReplayDriftError> {
        match self {
            GoldenError::Replay(RunFailure::Drift { drift }) => Some(drift),
            _ => None,
        }
    }
}

/// Renders a history as golden-file text.
pub fn to_golden(history: &[HistoryEvent]) -> String {
    let mut out = String::new();
    for event in history {
        // Events hold only serializable data; failure here is a bug.
        match serde_json::to_string(event) {
            Ok(line) => out.push_str(&line),
            Err(e) => out.push_str(&format!("{{\"unserializable\":{:?}}}", e.to_string())),
        }
        out.push('\n');
    }
    out
}

/// Parses golden-file text.
pub fn parse_golden(text: &str, path: &Path) -> Result<Vec<HistoryEvent>, GoldenError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| GoldenError::Parse {
                path: path.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Reads a golden file.
pub fn read_history(path: impl AsRef<Path>) -> Result<Vec<HistoryEvent>, GoldenError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| GoldenError::Io { path: path.to_owned(), source })?;
    parse_golden(&text, path)
}

/// Writes a golden file.
pub fn write_golden(path: impl AsRef<Path>, history: &[HistoryEvent]) -> Result<(), GoldenError> {
    let path = path.as_ref();
    std::fs::write(path, to_golden(history)).map_err(|source| GoldenError::Io { path: path.to_owned(), source })
}

/// Replays the history in `path` through `W`'s current code.
pub fn replay<W: Workflow>(_workflow: impl WorkflowRef<W>, path: impl AsRef<Path>) -> Result<Replayed, GoldenError> {
    let history = read_history(path)?;
    replay_events::<W>(history)
}

/// Replays an in-memory history through `W`'s current code.
pub fn replay_events<W: Workflow>(history: Vec<HistoryEvent>) -> Result<Replayed, GoldenError> {
    if let Some(continuum_core::Event::RunStarted { workflow, .. }) = history.first().map(|e| &e.event)
        && workflow != W::NAME
    {
        return Err(GoldenError::WrongWorkflow { expected: W::NAME.to_owned(), found: workflow.clone() });
    }
    replay_history(&ErasedWorkflow::of::<W>(), continuum_core::RunId(uuid::Uuid::nil()), Arc::from(history))
        .map_err(GoldenError::Replay)
}
