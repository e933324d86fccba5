//! The core of Continuum: the event model, the replay engine, the workflow
//! context, the [`Journal`] trait with an in-memory journal, and the tokio
//! [`Runtime`].
//!
//! Most users depend on the `continuum` facade crate instead and write
//! `use continuum::prelude::*`.

// Layer 1: the model — ids, payloads, the clock, commands, events,
// statuses and outcomes, errors.
pub mod clock;
pub mod command;
pub mod error;
pub mod event;
pub mod ids;
pub mod limits;
pub mod outcome;
pub mod payload;
pub mod retry;
pub mod status;
// Layer 2: what workflow code is written against.
pub mod future;
pub mod registry;
pub mod workflow;
// Layer 3: where runs are stored.
pub mod journal;
// Layer 4: the engine that drives runs against a journal.
pub mod engine;
// Layer 5: the tokio runtime and the client API.
pub mod runtime;

pub use crate::clock::{Clock, SystemClock, VirtualClock};
pub use crate::engine::{Engine, EngineConfig, EngineStats, Replayed, RunOutcome, StartRequest, replay_history};
pub use crate::error::{
    ActivityError, ActivityErrorKind, AwaitError, CancelError, ChildError, CommandDescription, IntoActivityError,
    JournalError, ReplayDriftError, RunFailure, SignalError, SignalSendError, StartError, WorkflowError,
};
pub use crate::event::{CommandKind, Event, HistoryEvent, ParentRef, ValueKind};
pub use crate::ids::{RunId, Seq, SiteId, SiteInfo, VersionHash};
pub use crate::journal::{IdReuse, InMemoryJournal, Journal, RunInfo, RunStatus};
pub use crate::payload::{Payload, PayloadError};
pub use crate::registry::Registry;
pub use crate::retry::RetryPolicy;
pub use crate::runtime::{
    Client, IfRunning, Readiness, RunHandle, RunRef, Runtime, RuntimeBuilder, ShutdownReport, SignalDelivery,
    StartOptions, WorkerConfig,
};
pub use crate::workflow::context::{
    ActivityCall, ChildCall, ChildHandle, ChildResult, Compensable, CompensableCall, Compensate, CompensateAll,
    CompensationError, CompensationRef, CompensationReport, ContinueAsNew, SignalWait, Sleep, StartChild,
    WorkflowContext,
};
pub use crate::workflow::{Activity, ActivityOptions, ErasedActivity, ErasedWorkflow, Workflow};
