//! Typed errors, one enum per boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::command::CommandKind;
use crate::ids::{RunId, Seq, SiteId};
use crate::payload::PayloadError;

/// An activity's failure, as returned by activity code and as handed to the
/// workflow once retries are exhausted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ActivityError {
    /// What kind of failure.
    pub kind: ActivityErrorKind,
    /// Human-readable message.
    pub message: String,
    /// When true, the engine does not retry.
    #[serde(default)]
    pub non_retryable: bool,
}

/// Classification of an [`ActivityError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityErrorKind {
    /// The activity returned an error.
    Failed,
    /// An attempt ran past the activity's timeout.
    TimedOut,
    /// The activity panicked.
    Panicked,
    /// The worker running the attempt died and the crash used up the last
    /// attempt; the activity was not re-run.
    AttemptsExhausted,
    /// The input or output did not (de)serialize.
    Payload,
    /// No activity with the scheduled name is registered on the worker.
    UnknownActivity,
}

impl fmt::Display for ActivityErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActivityErrorKind::Failed => "activity failed",
            ActivityErrorKind::TimedOut => "activity timed out",
            ActivityErrorKind::Panicked => "activity panicked",
            ActivityErrorKind::AttemptsExhausted => "activity attempts exhausted",
            ActivityErrorKind::Payload => "activity payload error",
            ActivityErrorKind::UnknownActivity => "unknown activity",
        })
    }
}

impl ActivityError {
    /// The same error with its message bounded ([`bounded_message`]).
    pub fn bounded(mut self) -> Self {
        self.message = bounded_message(self.message);
        self
    }

    /// A retryable failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { kind: ActivityErrorKind::Failed, message: message.into(), non_retryable: false }
    }

    /// A failure that retrying cannot fix (bad input, a declined card).
    pub fn non_retryable(message: impl Into<String>) -> Self {
        Self { kind: ActivityErrorKind::Failed, message: message.into(), non_retryable: true }
    }

    pub(crate) fn of_kind(kind: ActivityErrorKind, message: impl Into<String>, non_retryable: bool) -> Self {
        Self { kind, message: message.into(), non_retryable }
    }
}

impl From<PayloadError> for ActivityError {
    fn from(e: PayloadError) -> Self {
        Self::of_kind(ActivityErrorKind::Payload, e.to_string(), true)
    }
}

/// Lets activities use `?` on any error; the failure is retryable.
/// Use [`ActivityError::non_retryable`] for errors retrying cannot fix.
pub trait IntoActivityError<T> {
    /// Converts the error side into a retryable [`ActivityError`].
    fn retryable(self) -> Result<T, ActivityError>;
    /// Converts the error side into a non-retryable [`ActivityError`].
    fn non_retryable(self) -> Result<T, ActivityError>;
}

impl<T, E: fmt::Display> IntoActivityError<T> for Result<T, E> {
    fn retryable(self) -> Result<T, ActivityError> {
        self.map_err(|e| ActivityError::retryable(e.to_string()))
    }
    fn non_retryable(self) -> Result<T, ActivityError> {
        self.map_err(|e| ActivityError::non_retryable(e.to_string()))
    }
}

/// Why a signal wait ended without a signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SignalError {
    /// The wait's timeout passed first.
    #[error("no `{name}` signal arrived before the timeout")]
    TimedOut {
        /// Signal name.
        name: String,
    },
    /// A signal arrived but its body is not the awaited type.
    #[error("signal `{name}` body does not decode: {error}")]
    Decode {
        /// Signal name.
        name: String,
        /// The decode error.
        error: PayloadError,
    },
}

/// A convenient error type for workflows: every effect error converts into
/// it with `?`. Workflows may return any `E: Display` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum WorkflowError {
    /// An activity failed for good.
    #[error(transparent)]
    Activity(#[from] ActivityError),
    /// A signal wait timed out or its body did not decode.
    #[error(transparent)]
    Signal(#[from] SignalError),
    /// A value did not (de)serialize.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A child workflow failed, was cancelled or could not be started.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// A failure of the workflow's own logic.
    #[error("{0}")]
    Message(String),
}

/// What a parent gets instead of its child's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ChildError {
    /// The child failed: its workflow returned an error, panicked, or
    /// could not be replayed.
    #[error("child run {child} failed: {failure}")]
    Failed {
        /// The child run.
        child: RunId,
        /// Why.
        failure: RunFailure,
    },
    /// The child was cancelled.
    #[error("child run {child} was cancelled")]
    Cancelled {
        /// The child run.
        child: RunId,
        /// The canceller's reason, if any.
        reason: Option<String>,
    },
    /// The child's workflow is not registered in the process that ran the
    /// parent: no child run was created (the parent's history records the
    /// `child_started` command and its `child_failed` answer).
    #[error("child workflow `{workflow}` is not registered")]
    UnknownWorkflow {
        /// The workflow name.
        workflow: String,
    },
    /// The child's input could not be encoded (or exceeds the payload
    /// cap); nothing was journaled.
    #[error("child input: {0}")]
    Input(PayloadError),
    /// The child's output is not the type its workflow declares.
    #[error("output of child run {child} does not decode: {error}")]
    Decode {
        /// The child run.
        child: RunId,
        /// The decode error.
        error: PayloadError,
    },
    /// This run already started a child with this key (keys are unique per
    /// parent run, whatever the call site); nothing was started.
    #[error("this run already started a child with key `{key}`")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

impl WorkflowError {
    /// A failure of the workflow's own logic.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::Message(message.into())
    }
}

/// One side of a [`ReplayDriftError`]: a command as recorded or as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandDescription {
    /// The command kind.
    pub kind: CommandKind,
    /// Activity or signal name, value kind; empty for timers.
    pub name: String,
    /// The site id.
    pub site: SiteId,
    /// The call as written and where, when known (`ctx.activity(a, …) at
    /// src/lib.rs:10:5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl fmt::Display for CommandDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.name.is_empty() {
            write!(f, " `{}`", self.name)?;
        }
        write!(f, " at site {}", self.site)?;
        if let Some(loc) = &self.location {
            write!(f, " ({loc})")?;
        }
        Ok(())
    }
}

/// The workflow code and its recorded history disagree: replaying would
/// change what already happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ReplayDriftError {
    /// The run.
    pub run: RunId,
    /// The workflow.
    pub workflow: String,
    /// The history position where code and history part ways.
    pub seq: Seq,
    /// What the history recorded there (`None`: the history has no command
    /// there).
    pub expected: Option<CommandDescription>,
    /// What the code asked for (`None`: the code asked for nothing; it
    /// waited or returned).
    pub found: Option<CommandDescription>,
    /// More about the disagreement, when the two sides above do not say
    /// it all (a different return value, a run the history ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl fmt::Display for ReplayDriftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "replay drift in run {} of workflow `{}` at seq {}:", self.run, self.workflow, self.seq)?;
        match &self.expected {
            Some(c) => writeln!(f, "  - history: {c}")?,
            None => writeln!(f, "  - history: no command at this point")?,
        }
        match &self.found {
            Some(c) => write!(f, "  + code:    {c}")?,
            None => write!(f, "  + code:    no command (the workflow waited or returned)")?,
        }
        match &self.detail {
            Some(d) => write!(f, "\n  {d}"),
            None => Ok(()),
        }
    }
}

/// Why a run failed, as recorded in its `RunFailed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RunFailure {
    /// The workflow returned `Err`.
    #[error("workflow returned an error: {message}")]
    Error {
        /// The error's `Display`.
        message: String,
    },
    /// The chain's execution timeout passed before it ended
    /// (`StartOptions::execution_timeout`).
    #[error("the run's execution timeout passed at {deadline}")]
    ExecutionTimedOut {
        /// When the chain had to have ended.
        deadline: chrono::DateTime<chrono::Utc>,
    },
    /// The workflow panicked.
    #[error("workflow panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// Code and history disagreed on replay.
    #[error("{drift}")]
    Drift {
        /// The structured diff.
        drift: Box<ReplayDriftError>,
    },
    /// The workflow swallowed the engine's suspension: it awaited something
    /// that is not a Continuum effect, or polled an effect outside the
    /// engine's own poll (another thread, another executor).
    #[error("workflow escaped the engine's control flow: {detail}")]
    SuspendLeak {
        /// What was detected.
        detail: String,
    },
    /// A payload in the history could not be decoded.
    #[error("history event {seq} of run {run} does not decode: {error}")]
    HistoryDecode {
        /// The run.
        run: RunId,
        /// The event.
        seq: Seq,
        /// The decode error.
        error: PayloadError,
    },
    /// The run's workflow is not registered on this runtime.
    #[error("workflow `{name}` is not registered")]
    UnknownWorkflow {
        /// The name in the history.
        name: String,
    },
    /// The journal rejected a write of the run that could never be
    /// applied (see [`JournalError::WriteRefused`]); the run was failed
    /// rather than retried forever.
    #[error("the journal rejected the run's write: {detail}")]
    WriteRefused {
        /// What the journal said.
        detail: String,
    },
    /// The workflow returned an output larger than
    /// `EngineConfig::max_payload_bytes`; it was not journaled.
    #[error("workflow output of {bytes} bytes exceeds the payload cap of {max} bytes")]
    OutputTooLarge {
        /// The output's size, in bytes of JSON.
        bytes: usize,
        /// The cap.
        max: usize,
    },
    /// The run started a child deeper than `EngineConfig::max_child_depth`
    /// allows; refused when the child would be created, so no descendant
    /// can outrun the cancel cascade.
    #[error("child at depth {depth} exceeds the maximum depth {max}")]
    ChildDepth {
        /// The depth the child would have had.
        depth: u32,
        /// The limit.
        max: u32,
    },
}

/// `message`, cut to at most [`MAX_ERROR_MESSAGE_BYTES`] (at a character
/// boundary) with a marker giving its original size when it is longer:
/// error texts and panic messages are journaled, and a runaway one must
/// not bloat a history.
///
/// [`MAX_ERROR_MESSAGE_BYTES`]: crate::limits::MAX_ERROR_MESSAGE_BYTES
pub fn bounded_message(message: String) -> String {
    let max = crate::limits::MAX_ERROR_MESSAGE_BYTES;
    if message.len() <= max {
        return message;
    }
    let marker = format!("… [truncated: {} bytes in all]", message.len());
    let mut cut = max.saturating_sub(marker.len());
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{marker}", &message[..cut])
}

impl RunFailure {
    /// The same failure with its message bounded ([`bounded_message`]).
    pub fn bounded(self) -> Self {
        match self {
            RunFailure::Error { message } => RunFailure::Error { message: bounded_message(message) },
            RunFailure::Panicked { message } => RunFailure::Panicked { message: bounded_message(message) },
            other => other,
        }
    }

    /// The failure of a run whose stored event `seq` does not decode
    /// ([`JournalError::CorruptEvent`]).
    pub fn undecodable_event(run: RunId, seq: Seq, detail: String) -> Self {
        RunFailure::HistoryDecode {
            run,
            seq,
            error: PayloadError { direction: "decoding".into(), type_name: "HistoryEvent".into(), message: detail },
        }
    }
}

/// A journal operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// No such run.
    #[error("run {0} not found")]
    RunNotFound(RunId),
    /// No run was ever started with this workflow id.
    #[error("no run has workflow id `{0}`")]
    WorkflowIdNotFound(String),
    /// The workflow id is taken by another run.
    #[error("workflow id `{workflow_id}` is already used by run {existing}")]
    DuplicateWorkflowId {
        /// The id asked for.
        workflow_id: String,
        /// The run holding it.
        existing: RunId,
    },
    /// The run has ended; nothing more can be written to it.
    #[error("run {run} is terminal ({status})")]
    RunTerminal {
        /// The run.
        run: RunId,
        /// Its terminal status.
        status: crate::status::RunStatus,
    },
    /// The writer's lease was taken over: a stale write, rejected.
    #[error("stale write to run {run} rejected: lease token {presented} is fenced out by {current}")]
    Fenced {
        /// The run.
        run: RunId,
        /// The token the writer holds.
        presented: u64,
        /// The token in force.
        current: u64,
    },
    /// The append did not start where the history ends.
    #[error("append to run {run} expected next seq {expected} but history is at {actual}")]
    SeqConflict {
        /// The run.
        run: RunId,
        /// Seq the writer assumed.
        expected: Seq,
        /// Seq the journal has.
        actual: Seq,
    },
    /// No such activity task (already resolved, or never scheduled).
    #[error("activity task {run}/{seq} not found")]
    TaskNotFound {
        /// The run.
        run: RunId,
        /// The `ActivityScheduled` seq.
        seq: Seq,
    },
    /// This process cannot serve the run: another live process has the
    /// version it started on, or replaying it on this process's version
    /// drifted. It was left (released) for a process that can.
    #[error("run {run} of `{workflow}` started on version {version}, which this process does not serve")]
    VersionUnavailable {
        /// The run.
        run: RunId,
        /// Its workflow.
        workflow: String,
        /// The version it started on.
        version: crate::ids::VersionHash,
    },
    /// The backend failed.
    #[error("journal backend error: {0}")]
    Backend(String),
    /// The journal rejects this run's write as it stands (it breaks a
    /// constraint, or holds a value the store cannot take); nothing of it
    /// was applied, the other writes of the same commit were, and
    /// retrying the same write cannot succeed.
    #[error("the journal rejects the write to run {run}: {detail}")]
    WriteRefused {
        /// The run.
        run: RunId,
        /// What the store said.
        detail: String,
    },
    /// The journal could not be reached (the connection was refused,
    /// reset or timed out; the server is restarting). Transient: the same
    /// call may succeed later. For a commit, the outcome may be unknown.
    #[error("journal unavailable: {0}")]
    Unavailable(String),
    /// A value cannot be stored as given (for instance a NUL character in
    /// a workflow id or signal name, which PostgreSQL text cannot hold).
    /// Nothing was written.
    #[error("cannot store {what}: {detail}")]
    InvalidInput {
        /// What was refused (`workflow id`, `signal name`).
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// A stored event does not decode: the run's history is unreadable at
    /// `seq`.
    #[error("run {run}: stored event {seq} does not decode: {detail}")]
    CorruptEvent {
        /// The run.
        run: RunId,
        /// The event's seq.
        seq: Seq,
        /// The decode error.
        detail: String,
    },
}

impl JournalError {
    /// Whether retrying the same call later may succeed: the journal was
    /// unreachable, or failed in a way that says nothing about the request
    /// itself. A refusal (fenced, terminal, a duplicate id, bad input) is
    /// not transient.
    pub fn is_transient(&self) -> bool {
        matches!(self, JournalError::Backend(_) | JournalError::Unavailable(_))
    }
}

/// `start` failed; nothing was journaled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// No workflow of that name is registered.
    #[error("workflow `{name}` is not registered")]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
    },
    /// The input is not the workflow's input type.
    #[error("input for workflow `{workflow}` does not decode: {error}")]
    InputType {
        /// The workflow.
        workflow: String,
        /// The decode error.
        error: PayloadError,
    },
    /// The input could not be encoded.
    #[error("input does not encode: {0}")]
    InputEncode(PayloadError),
    /// The workflow id is taken.
    #[error("workflow id `{workflow_id}` is already used by run {existing}")]
    DuplicateWorkflowId {
        /// The id asked for.
        workflow_id: String,
        /// The run holding it.
        existing: RunId,
    },
    /// A start by name from a process that does not host the workflow: no
    /// live worker serves a workflow of that name, so nothing could run it
    /// (start it by its type to queue it for a worker that will).
    #[error("no live worker serves workflow `{name}` (served: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    NoWorker {
        /// The name asked for.
        name: String,
        /// The workflows live workers serve.
        known: Vec<String>,
    },
    /// "Start or attach" found a running chain of another workflow under
    /// the id.
    #[error("workflow id `{workflow_id}` is held by a running `{running}`, not `{asked}`")]
    WrongWorkflow {
        /// The id.
        workflow_id: String,
        /// The workflow of the running chain.
        running: String,
        /// The workflow asked for.
        asked: String,
    },
    /// The journal failed.
    #[error(transparent)]
    Journal(JournalError),
    /// The runtime is shut down.
    #[error("the runtime is shut down")]
    Shutdown,
}

/// `signal` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignalSendError {
    /// No such run.
    #[error("run {0} not found")]
    RunNotFound(RunId),
    /// No run was ever started with this workflow id.
    #[error("no run has workflow id `{0}`")]
    WorkflowIdNotFound(String),
    /// The run has ended; a signal to it would never be consumed.
    #[error("run {run} is {status}; it takes no more signals")]
    RunTerminal {
        /// The run.
        run: RunId,
        /// Its terminal status.
        status: crate::status::RunStatus,
    },
    /// The body could not be encoded.
    #[error("signal body does not encode: {0}")]
    Encode(PayloadError),
    /// The journal failed.
    #[error(transparent)]
    Journal(JournalError),
    /// The runtime is shut down.
    #[error("the runtime is shut down")]
    Shutdown,
}

/// `cancel` failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CancelError {
    /// No such run.
    #[error("run {0} not found")]
    RunNotFound(RunId),
    /// No run was ever started with this workflow id.
    #[error("no run has workflow id `{0}`")]
    WorkflowIdNotFound(String),
    /// The run has already ended.
    #[error("run {run} is already {status}")]
    RunTerminal {
        /// The run.
        run: RunId,
        /// Its terminal status.
        status: crate::status::RunStatus,
    },
    /// The journal failed.
    #[error(transparent)]
    Journal(JournalError),
    /// The runtime is shut down.
    #[error("the runtime is shut down")]
    Shutdown,
}

/// `await_outcome` or `RunHandle::result` did not produce the workflow's output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AwaitError {
    /// The run had not ended when the wait's timeout passed.
    #[error("run {run} had not finished after {after:?}")]
    Timeout {
        /// The run.
        run: RunId,
        /// The wait.
        after: std::time::Duration,
    },
    /// No such run.
    #[error("run {0} not found")]
    RunNotFound(RunId),
    /// No run was ever started with this workflow id.
    #[error("no run has workflow id `{0}`")]
    WorkflowIdNotFound(String),
    /// The run failed.
    #[error("run {run} failed: {failure}")]
    Failed {
        /// The run.
        run: RunId,
        /// Why.
        failure: RunFailure,
    },
    /// The run was cancelled.
    #[error("run {run} was cancelled")]
    Cancelled {
        /// The run.
        run: RunId,
        /// The reason given.
        reason: Option<String>,
    },
    /// The output does not decode as the workflow's output type.
    #[error("output of run {run} does not decode: {error}")]
    Decode {
        /// The run.
        run: RunId,
        /// The error.
        error: PayloadError,
    },
    /// The journal failed.
    #[error(transparent)]
    Journal(JournalError),
}
