//! What workflow code sees: [`WorkflowContext`] and its effects.
//!
//! Every effect is journaled. While a run replays, an effect returns what
//! the history recorded instead of acting again; past the history's end it
//! acts and records. Effects suspend by returning `Poll::Pending` to the
//! engine — there is nothing to catch — and the engine fails the run with
//! [`RunFailure::SuspendLeak`] if workflow code awaits anything else, or
//! polls an effect outside the engine's own poll.

mod child;
pub(crate) mod core;
mod effects;
mod saga;

use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use self::child::{ChildCall, ChildHandle, ChildResult, StartChild};
// `ContinueAsNew` is defined below.
pub use self::core::replaying;
use self::core::{CallSite, Issued, Recorded, RunCore};
pub use self::effects::{ActivityCall, SignalWait, Sleep};
pub use self::saga::{
    Compensable, CompensableCall, Compensate, CompensateAll, CompensationError, CompensationRef, CompensationReport,
};
use crate::error::RunFailure;
use crate::event::{CommandKind, Event, ValueKind};
use crate::ids::{RunId, SiteInfo};
use crate::payload::Payload;
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

    /// The current time, recorded once and replayed after.
    #[track_caller]
    pub fn now(&self) -> DateTime<Utc> {
        self.here().now()
    }

    /// Today's date (UTC), recorded once and replayed after.
    #[track_caller]
    pub fn today(&self) -> NaiveDate {
        self.here().today()
    }

    /// A random v4 UUID, recorded once and replayed after.
    #[track_caller]
    pub fn uuid4(&self) -> Uuid {
        self.here().uuid4()
    }

    /// A random `f64` in `[0, 1)`, recorded once and replayed after.
    #[track_caller]
    pub fn random(&self) -> f64 {
        self.here().random()
    }

    /// A random `u64`, recorded once and replayed after.
    #[track_caller]
    pub fn random_u64(&self) -> u64 {
        self.here().random_u64()
    }

    /// Runs `f` once and records its value; replay returns the recorded
    /// value without calling `f`. For short, non-failing reads of the
    /// outside world; anything that can fail or take time belongs in an
    /// activity.
    #[track_caller]
    pub fn side_effect<T: Serialize + DeserializeOwned>(&self, f: impl FnOnce() -> T) -> T {
        self.here().side_effect(f)
    }

    /// Ends this run and continues the workflow in a fresh run with
    /// `input` and an empty history — for long-running workflows whose
    /// history would otherwise grow without bound (a subscription's billing
    /// cycle, a polling loop):
    ///
    /// ```ignore
    /// return ctx.continue_as_new(next_state).await;
    /// ```
    ///
    /// It never resolves: the run ends as `continued` once the `await` is
    /// reached. The successor runs the workflow's currently registered
    /// version, keeps the workflow id (and parent, namespace, attributes),
    /// and receives the undelivered signals; signals, cancel and awaits
    /// addressed to any run of the chain reach its live tip, and awaiting
    /// returns the final result. Unawaited children move to the successor
    /// (for the cancel cascade) but it cannot await them: await every child
    /// whose result you need first. An input that does not encode, or is
    /// not the workflow's input type, fails the run instead.
    pub fn continue_as_new<I: Serialize, T>(&self, input: I) -> ContinueAsNew<'_, T> {
        let max = self.lock().max_payload;
        let input = Payload::encode(&input).and_then(|p| p.within(max, "continue_as_new input"));
        ContinueAsNew { ctx: self, input: Some(input), _output: std::marker::PhantomData }
    }

    /// Whether this run takes the new branch of a code change — the way to
    /// change a workflow's commands without stranding runs already in
    /// flight:
    ///
    /// ```ignore
    /// if ctx.patched("fraud-check") {
    ///     ctx.activity(fraud_check, order.clone()).await?;
    /// }
    /// ```
    ///
    /// A run that reaches the check live gets `true` and a
    /// [`PatchMarker`](crate::Event::PatchMarker) is journaled; replaying
    /// a history recorded before the patch existed gets `false` without
    /// consuming an event, so the run stays on the old path. The first
    /// answer for an id holds for the whole run. Once no run recorded
    /// before the patch is left, the check and the old branch can go (the
    /// markers left in histories then read as drift: keep the check until
    /// those runs have ended too). See the versioning guide.
    #[track_caller]
    pub fn patched(&self, patch: &str) -> bool {
        self.here().patched(patch)
    }
}

/// The end of a run that continues as new; returned by
/// [`WorkflowContext::continue_as_new`]. Never resolves.
#[must_use = "the run continues only when this is awaited"]
pub struct ContinueAsNew<'a, T> {
    ctx: &'a WorkflowContext,
    input: Option<Result<Payload, crate::payload::PayloadError>>,
    _output: std::marker::PhantomData<fn() -> T>,
}

impl<T> Unpin for ContinueAsNew<'_, T> {}

impl<T> std::future::Future for ContinueAsNew<'_, T> {
    type Output = T;

    fn poll(self: std::pin::Pin<&mut Self>, _cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        let this = self.get_mut();
        let mut core = this.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        match this.input.take() {
            Some(Ok(input)) => core.continue_with = Some(input),
            Some(Err(e)) => {
                core.fatal =
                    Some(RunFailure::Error { message: format!("continue_as_new input could not be recorded: {e}") });
                drop(core);
                abort();
            }
            None => {}
        }
        std::task::Poll::Pending
    }
}

/// Stops the current poll: the failure is already recorded.
fn abort() -> ! {
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

    /// See [`WorkflowContext::now`].
    pub fn now(self) -> DateTime<Utc> {
        self.record(ValueKind::Now, |core| core.now)
    }

    /// See [`WorkflowContext::today`].
    pub fn today(self) -> NaiveDate {
        self.now().date_naive()
    }

    /// See [`WorkflowContext::uuid4`].
    pub fn uuid4(self) -> Uuid {
        self.record(ValueKind::Uuid, |_| Uuid::new_v4())
    }

    /// See [`WorkflowContext::random`].
    pub fn random(self) -> f64 {
        self.record(ValueKind::Random, |_| rand::random::<f64>())
    }

    /// See [`WorkflowContext::random_u64`].
    pub fn random_u64(self) -> u64 {
        self.record(ValueKind::Random, |_| rand::random::<u64>())
    }

    /// See [`WorkflowContext::side_effect`].
    pub fn side_effect<T: Serialize + DeserializeOwned>(self, f: impl FnOnce() -> T) -> T {
        {
            let mut core = self.ctx.lock();
            if !core.enter() {
                drop(core);
                abort();
            }
            if !core.is_replaying() {
                core.in_side_effect = true;
            }
        }
        // The closure runs without the lock so it may read the context's
        // plain accessors; effects inside it are refused by `enter`.
        let mut produced = None;
        let replaying = self.ctx.lock().is_replaying();
        if !replaying {
            let value = f();
            self.ctx.lock().in_side_effect = false;
            produced = Some(value);
        }
        self.record(ValueKind::SideEffect, move |_| produced.take().unwrap_or_else(|| unreachable_value()))
    }

    /// See [`WorkflowContext::patched`].
    pub fn patched(self, patch: &str) -> bool {
        let mut core = self.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        core.patched(patch, self.at)
    }

    fn record<T: Serialize + DeserializeOwned>(self, kind: ValueKind, produce: impl FnOnce(&RunCore) -> T) -> T {
        let mut core = self.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        let mut live_value = None;
        let mut encode_error = None;
        let issued = core.issue(CommandKind::Value, kind.as_str(), self.at, |core| {
            let value = produce(core);
            let payload = match Payload::encode(&value) {
                Ok(p) => p,
                Err(e) => {
                    encode_error = Some(e);
                    Payload::unit()
                }
            };
            live_value = Some(value);
            Event::ValueRecorded { site: self.at.id(), kind, value: payload }
        });
        let Some(issued) = issued else {
            drop(core);
            abort();
        };
        if let Some(error) = encode_error {
            core.fatal =
                Some(RunFailure::Error { message: format!("{} value could not be recorded: {error}", kind.as_str()) });
            drop(core);
            abort();
        }
        match issued {
            Issued::Live(_) => match live_value {
                Some(v) => v,
                None => {
                    drop(core);
                    abort()
                }
            },
            Issued::Replayed(seq, Recorded::Value(value)) => match value.decode::<T>() {
                Ok(v) => v,
                Err(error) => {
                    core.fatal = Some(RunFailure::HistoryDecode { run: core.run, seq, error });
                    drop(core);
                    abort();
                }
            },
            Issued::Replayed(..) => {
                drop(core);
                abort()
            }
        }
    }
}

/// `side_effect` records only live values; replay never calls the
/// producer, so this is never reached.
fn unreachable_value<T>() -> T {
    abort()
}
