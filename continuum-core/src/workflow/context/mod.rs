//! What workflow code sees: [`WorkflowContext`] and its effects.
//!
//! Every effect is journaled. While a run replays, an effect returns what
//! the history recorded instead of acting again; past the history's end it
//! acts and records. Effects suspend by returning `Poll::Pending` to the
//! engine — there is nothing to catch — and the engine fails the run with
//! [`RunFailure::SuspendLeak`](crate::error::RunFailure::SuspendLeak) if workflow code awaits anything else, or
//! polls an effect outside the engine's own poll.

mod activities;
mod children;
mod continue_as_new;
pub(crate) mod core;
mod effect;
mod patches;
mod saga;
mod signals;
mod timers;
mod values;

use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use self::activities::ActivityCall;
pub use self::children::{ChildCall, ChildHandle, ChildResult, StartChild};
pub use self::continue_as_new::ContinueAsNew;
pub use self::core::replaying;
use self::core::{CallSite, RunCore};
pub use self::saga::{
    Compensable, CompensableCall, Compensate, CompensateAll, CompensationError, CompensationRef, CompensationReport,
};
pub use self::signals::SignalWait;
pub use self::timers::Sleep;
use crate::ids::{RunId, SiteInfo};
use crate::workflow::{Activity, ActivityRef};

/// Marker unwound through workflow code when the engine must stop a run's
/// poll (the failure is already recorded in the run's state).
pub(crate) struct EngineAbort;

/// The handle through which a workflow performs effects.
///
/// Passed by reference to every `#[workflow]` function. Use only its
/// methods for anything that reads the outside world; see the
/// determinism guide.
pub struct WorkflowContext {
    pub(crate) core: Arc<Mutex<RunCore>>,
    run: RunId,
    workflow: &'static str,
}

impl std::fmt::Debug for WorkflowContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowContext").field("run", &self.run).field("workflow", &self.workflow).finish()
    }
}

/// An effect call site fixed by `#[workflow]`; returned by
/// [`WorkflowContext::__at`]. Has the same effect methods as the context.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Sited<'a> {
    ctx: &'a WorkflowContext,
    at: CallSite,
}

impl WorkflowContext {
    pub(crate) fn new(core: Arc<Mutex<RunCore>>, run: RunId, workflow: &'static str) -> Self {
        Self { core, run, workflow }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RunCore> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This run's id.
    pub fn run_id(&self) -> RunId {
        self.run
    }

    /// The workflow's registered name.
    pub fn workflow_name(&self) -> &'static str {
        self.workflow
    }

    /// True while the run is re-executing recorded history (after a crash
    /// or an eviction). Log lines guarded by `!ctx.is_replaying()` appear
    /// once per run, not once per replay.
    pub fn is_replaying(&self) -> bool {
        self.lock().is_replaying()
    }

    /// Used by `#[workflow]`: binds the next effect to a static call site.
    #[doc(hidden)]
    pub fn __at(&self, site: SiteInfo) -> Sited<'_> {
        Sited { ctx: self, at: CallSite::Static(site) }
    }

    #[track_caller]
    fn here(&self) -> Sited<'_> {
        Sited { ctx: self, at: CallSite::Caller(Location::caller()) }
    }

    /// Schedules activity `A` and waits for its result. Retries follow the
    /// activity's policy (override per call with
    /// [`ActivityCall::retry`]/[`ActivityCall::timeout`]); a failure after
    /// the last attempt arrives as `Err`, not as a crash.
    #[track_caller]
    pub fn activity<A: Activity>(&self, activity: impl ActivityRef<A>, input: A::Input) -> ActivityCall<'_, A> {
        self.here().activity(activity, input)
    }

    /// A durable timer: completes after `duration`, even across restarts.
    #[track_caller]
    pub fn sleep(&self, duration: Duration) -> Sleep<'_> {
        self.here().sleep(duration)
    }

    /// Waits for the next signal named `name` from the run's durable
    /// mailbox. Signals that arrived earlier wait for their await; signals
    /// of one name are consumed in arrival order.
    #[track_caller]
    pub fn signal<T: DeserializeOwned>(&self, name: &str) -> SignalWait<'_, T> {
        self.here().signal(name)
    }
}

/// Stops the current poll: the failure is already recorded.
pub(super) fn abort() -> ! {
    std::panic::resume_unwind(Box::new(EngineAbort))
}

impl<'a> Sited<'a> {
    /// See [`WorkflowContext::activity`].
    pub fn activity<A: Activity>(self, _activity: impl ActivityRef<A>, input: A::Input) -> ActivityCall<'a, A> {
        ActivityCall::new(self.ctx, self.at, input)
    }

    /// See [`WorkflowContext::sleep`].
    pub fn sleep(self, duration: Duration) -> Sleep<'a> {
        Sleep::new(self.ctx, self.at, duration)
    }

    /// See [`WorkflowContext::signal`].
    pub fn signal<T: DeserializeOwned>(self, name: &str) -> SignalWait<'a, T> {
        SignalWait::new(self.ctx, self.at, name)
    }
}
