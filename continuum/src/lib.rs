#![doc = include_str!("lib.md")]

pub use continuum_core::{
    Activity, clock, command, engine, error, event, future, ids, journal, limits, outcome, payload, retry, runtime,
    status, workflow,
};
pub use continuum_core::{
    ActivityCall, ActivityError, ActivityErrorKind, ActivityOptions, AwaitError, CancelError, ChildCall, ChildError,
    ChildHandle, ChildResult, Client, Clock, CommandDescription, CommandKind, Compensable, CompensableCall, Compensate,
    CompensateAll, CompensationError, CompensationRef, CompensationReport, ContinueAsNew, Engine, EngineConfig,
    EngineStats, ErasedWorkflow, Event, HistoryEvent, IdReuse, IfRunning, InMemoryJournal, IntoActivityError, Journal,
    JournalError, ParentRef, Payload, PayloadError, Readiness, Registry, ReplayDriftError, Replayed, RetryPolicy,
    RunFailure, RunHandle, RunId, RunInfo, RunOutcome, RunRef, RunStatus, Runtime, RuntimeBuilder, Seq, ShutdownReport,
    SignalDelivery, SignalError, SignalSendError, SignalWait, SiteId, SiteInfo, Sleep, StartChild, StartError,
    StartOptions, SystemClock, ValueKind, VersionHash, VirtualClock, WorkerConfig, Workflow, WorkflowContext,
    WorkflowError,
};
pub use continuum_macros::{activity, pure, workflow, workflows};

/// Escape hatch from the determinism checker: `nondeterministic!(expr)`
/// evaluates `expr` unchecked.
///
/// For the rare justified case — reading a value that is deliberately not
/// journaled, for instance a metric — and greppable so a reviewer can find
/// every one. The expression still runs again on every replay: if its
/// value can influence what the workflow does, use `ctx.side_effect(|| …)`
/// instead, which records it.
///
/// ```
/// use continuum::prelude::*;
///
/// #[workflow]
/// async fn report(ctx: &WorkflowContext, _input: ()) -> Result<u128, WorkflowError> {
///     // Only feeds a log line; the workflow's decisions never depend on it.
///     let started = nondeterministic!(std::time::Instant::now());
///     ctx.sleep(seconds(1)).await;
///     Ok(nondeterministic!(started.elapsed().as_nanos()) * 0)
/// }
/// ```
#[macro_export]
macro_rules! nondeterministic {
    ($e:expr $(,)?) => {
        $e
    };
}

/// A deterministic `select!`: awaits several futures and runs the arm of
/// the first one to complete. When several are ready in the same poll,
/// the *first* arm listed wins — on the first run and on every replay —
/// unlike `tokio::select!` without `biased;`, which picks at random.
///
/// Each arm is `pattern = future => expression`; patterns must be
/// irrefutable. The other futures are dropped (an activity they scheduled
/// still completes, and its result is recorded and ignored).
///
/// ```
/// use continuum::prelude::*;
///
/// #[workflow]
/// async fn approve(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
///     let outcome = continuum::select! {
///         answer = ctx.signal::<bool>("approve") => if answer? { "approved" } else { "rejected" },
///         _ = ctx.sleep(hours(24)) => "timed out",
///     };
///     Ok(outcome.to_string())
/// }
/// ```
#[macro_export]
macro_rules! select {
    ($($pat:pat = $fut:expr => $body:expr),+ $(,)?) => {
        $crate::__select_nest!(@go [] [$($pat = $fut => $body,)+])
    };
}

/// Implementation of [`select!`]: nests the futures into biased pairs and
/// matches the nested `Either` back to its arm.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_nest {
    // One arm left: no select needed for it, it is the innermost future.
    (@future $pat:pat = $fut:expr => $body:expr,) => { $fut };
    (@future $pat:pat = $fut:expr => $body:expr, $($rest:tt)+) => {
        $crate::future::select($fut, $crate::__select_nest!(@future $($rest)+))
    };
    (@go [] [$($arms:tt)+]) => {
        match $crate::__select_nest!(@future $($arms)+).await {
            __continuum_selected => $crate::__select_nest!(@match __continuum_selected; [] $($arms)+)
        }
    };
    // The last arm: matched by whatever nesting is left.
    (@match $v:ident; [$($wrap:tt)*] $pat:pat = $fut:expr => $body:expr,) => {
        match $v { $($wrap)* $pat => $body, }
    };
    (@match $v:ident; [$($wrap:tt)*] $pat:pat = $fut:expr => $body:expr, $($rest:tt)+) => {
        match $v {
            $crate::future::Either::Left($pat) => $body,
            $crate::future::Either::Right(__continuum_rest) => {
                $crate::__select_nest!(@match __continuum_rest; [] $($rest)+)
            }
        }
    };
}

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
        ActivityError, ChildError, Client, Compensable, CompensationError, CompensationRef, CompensationReport,
        IdReuse, IntoActivityError, RetryPolicy, RunId, Runtime, SignalError, StartOptions, WorkflowContext,
        WorkflowError, activity, nondeterministic, pure, workflow, workflows,
    };
    pub use serde::{Deserialize, Serialize};
}

/// Used by generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use continuum_core::ids::SiteInfo;
    pub use continuum_core::workflow::context::replaying;
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
