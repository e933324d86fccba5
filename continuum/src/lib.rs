#![doc = include_str!("lib.md")]

pub use continuum_core::{
    Activity, clock, engine, error, event, future, ids, journal, payload, retry, runtime, workflow,
};
pub use continuum_core::{
    ActivityCall, ActivityError, ActivityErrorKind, ActivityOptions, AwaitError, CancelError, Clock,
    CommandDescription, CommandKind, Engine, EngineConfig, EngineStats, ErasedWorkflow, Event, HistoryEvent,
    InMemoryJournal, IntoActivityError, Journal, JournalError, Payload, PayloadError, Registry, ReplayDriftError,
    Replayed, RetryPolicy, RunFailure, RunHandle, RunId, RunInfo, RunOutcome, RunStatus, Runtime, RuntimeBuilder, Seq,
    SignalError, SignalSendError, SignalWait, SiteId, SiteInfo, Sleep, StartError, StartOptions, SystemClock,
    ValueKind, VersionHash, VirtualClock, WorkerConfig, Workflow, WorkflowContext, WorkflowError,
};
pub use continuum_macros::{activity, workflow};

/// Durations for timers and timeouts: `minutes(5)`, `hours(24)`.
pub mod time {
    use std::time::Duration;

    /// `n` milliseconds.
    pub const fn millis(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    /// `n` seconds.
    pub const fn seconds(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    /// `n` minutes.
    pub const fn minutes(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }
    /// `n` hours.
    pub const fn hours(n: u64) -> Duration {
        Duration::from_secs(n * 3600)
    }
    /// `n` days.
    pub const fn days(n: u64) -> Duration {
        Duration::from_secs(n * 86_400)
    }
}

/// Everything a workflow module needs: `use continuum::prelude::*`.
pub mod prelude {
    pub use crate::future::{Either, join, join_all, select, select_all, try_join, try_join_all};
    pub use crate::time::{days, hours, millis, minutes, seconds};
    pub use crate::{
        ActivityError, IntoActivityError, RetryPolicy, RunId, Runtime, SignalError, StartOptions, WorkflowContext,
        WorkflowError, activity, workflow,
    };
    pub use serde::{Deserialize, Serialize};
}

/// Used by generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use continuum_core::ids::SiteInfo;
    pub use continuum_core::workflow::{ActivityResult, Marker, WorkflowResult};
    pub use continuum_core::{
        Activity, ActivityError, ActivityOptions, SiteId, VersionHash, Workflow, WorkflowContext,
    };
    pub use futures::future::BoxFuture;
    pub use std::time::Duration;

    /// Builds a site description.
    pub const fn site_info(
        id: SiteId,
        effect: &'static str,
        label: &'static str,
        file: &'static str,
        line: u32,
        column: u32,
    ) -> SiteInfo {
        SiteInfo::new(id, effect, label, file, line, column)
    }
}
