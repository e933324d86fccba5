//! The core of Continuum: the event model, the replay engine, the workflow
//! context, the [`Journal`] trait with an in-memory journal, and the tokio
//! [`Runtime`].
//!
//! Most users depend on the `continuum` facade crate instead and write
//! `use continuum::prelude::*`.

pub mod clock;
pub mod context;
pub mod engine;
pub mod error;
pub mod event;
pub mod future;
pub mod ids;
pub mod journal;
pub mod payload;
pub mod registry;
pub mod retry;
pub mod runtime;
pub mod workflow;

pub use crate::clock::{Clock, SystemClock, VirtualClock};
pub use crate::context::{
    ActivityCall, ChildCall, ChildHandle, ChildResult, Compensable, CompensableCall, Compensate, CompensateAll,
    CompensationError, CompensationRef, CompensationReport, ContinueAsNew, SignalWait, Sleep, StartChild,
    WorkflowContext,
};
pub use crate::engine::{Engine, EngineConfig, EngineStats, Replayed, RunOutcome, StartRequest, replay_history};
pub use crate::error::{
    ActivityError, ActivityErrorKind, AwaitError, CancelError, ChildError, CommandDescription, IntoActivityError,
    JournalError, ReplayDriftError, RunFailure, SignalError, SignalSendError, StartError, WorkflowError,
};
pub use crate::event::{CommandKind, Event, HistoryEvent, ParentRef, ValueKind};
pub use crate::ids::{RunId, Seq, SiteId, SiteInfo, VersionHash};
pub use crate::journal::{InMemoryJournal, Journal, RunInfo, RunStatus};
pub use crate::payload::{Payload, PayloadError};
pub use crate::registry::Registry;
pub use crate::retry::RetryPolicy;
pub use crate::runtime::{RunHandle, Runtime, RuntimeBuilder, StartOptions, WorkerConfig};
pub use crate::workflow::{Activity, ActivityOptions, ErasedActivity, ErasedWorkflow, Workflow};
