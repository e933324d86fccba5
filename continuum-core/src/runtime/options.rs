//! Options a run is started with.

/// Options for [`Runtime::start`](super::Runtime::start).
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Caller-chosen workflow id: a second start with the same id is
    /// rejected with [`StartError::DuplicateWorkflowId`](crate::error::StartError::DuplicateWorkflowId).
    pub workflow_id: Option<String>,
}

impl StartOptions {
    /// Options with a caller-chosen workflow id.
    pub fn id(workflow_id: impl Into<String>) -> Self {
        Self { workflow_id: Some(workflow_id.into()) }
    }
}
