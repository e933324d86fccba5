//! Options a run is started with, and how a run is named when it is
//! addressed.

use crate::ids::RunId;
use crate::journal::IdReuse;

/// Options for [`Runtime::start`](super::Runtime::start) and
/// [`Client::start`](super::Client::start).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StartOptions {
    /// Caller-chosen workflow id; a random one when `None`. While a chain
    /// of runs with this id has not ended, another start with it is
    /// refused with
    /// [`StartError::DuplicateWorkflowId`](crate::error::StartError::DuplicateWorkflowId)
    /// (or attaches, or terminates the chain: see [`IfRunning`]).
    pub workflow_id: Option<String>,
    /// When an id held by a chain that ended may be used again (by
    /// default: once it ended, however it ended).
    pub reuse: IdReuse,
    /// What to do when a chain holding the id is still running.
    pub if_running: IfRunning,
    /// How long the run and its `continue_as_new` successors may take, from
    /// this start: past it the live run fails with
    /// [`RunFailure::ExecutionTimedOut`](crate::error::RunFailure::ExecutionTimedOut)
    /// and its running children are cancelled. `None` (the default): no
    /// limit.
    pub execution_timeout: Option<std::time::Duration>,
}

/// What a start does when a chain of runs holding its workflow id is
/// still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IfRunning {
    /// Refuse the start with `DuplicateWorkflowId` naming the running
    /// chain's first run.
    #[default]
    Refuse,
    /// Start nothing and return a handle to the running chain ("start or
    /// attach"). A chain of another workflow is still a refusal.
    Attach,
    /// End the running chain (as cancelled, with a reason naming the new
    /// start) and start anew — if the reuse policy lets an ended chain's id
    /// be used again.
    Terminate,
}

impl StartOptions {
    /// Options with a caller-chosen workflow id.
    pub fn id(workflow_id: impl Into<String>) -> Self {
        Self { workflow_id: Some(workflow_id.into()), ..Self::default() }
    }

    /// When an id held by a chain that ended may be used again.
    #[must_use]
    pub fn reuse(mut self, reuse: IdReuse) -> Self {
        self.reuse = reuse;
        self
    }

    /// Returns a handle to the running chain instead of refusing the start
    /// when one holds the id.
    #[must_use]
    pub fn attach_if_running(mut self) -> Self {
        self.if_running = IfRunning::Attach;
        self
    }

    /// Ends the running chain holding the id, then starts anew.
    #[must_use]
    pub fn terminate_if_running(mut self) -> Self {
        self.if_running = IfRunning::Terminate;
        self
    }

    /// Limits how long the run and its successors may take (see
    /// [`execution_timeout`](Self::execution_timeout)).
    pub fn execution_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.execution_timeout = Some(timeout);
        self
    }
}

/// How a run is named when it is signalled, cancelled or awaited: by run
/// id, or by workflow id (the chain that holds it now). Either way, a
/// `continue_as_new` chain is followed to its live tip.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RunRef {
    /// A run id: any run of a chain names the chain.
    Run(RunId),
    /// A workflow id: the latest chain started with it.
    WorkflowId(String),
}

impl From<RunId> for RunRef {
    fn from(run: RunId) -> Self {
        RunRef::Run(run)
    }
}

impl From<&RunId> for RunRef {
    fn from(run: &RunId) -> Self {
        RunRef::Run(*run)
    }
}

impl From<&str> for RunRef {
    fn from(workflow_id: &str) -> Self {
        RunRef::WorkflowId(workflow_id.to_owned())
    }
}

impl From<String> for RunRef {
    fn from(workflow_id: String) -> Self {
        RunRef::WorkflowId(workflow_id)
    }
}

impl From<&String> for RunRef {
    fn from(workflow_id: &String) -> Self {
        RunRef::WorkflowId(workflow_id.clone())
    }
}

impl std::fmt::Display for RunRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunRef::Run(run) => write!(f, "run {run}"),
            RunRef::WorkflowId(id) => write!(f, "workflow id `{id}`"),
        }
    }
}

/// How a signal sent with a delivery id
/// ([`Client::signal_with_id`](super::Client::signal_with_id)) was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalDelivery {
    /// The signal is in the mailbox of the chain's live run.
    Delivered,
    /// A signal with this delivery id was already delivered to the chain
    /// (a retried send): acknowledged, and dropped.
    Duplicate,
}

/// The longest signal delivery id, in bytes.
pub const MAX_DELIVERY_ID_BYTES: usize = 255;
