//! Sagas: undo steps that completed activities register, run on demand.
//!
//! `ctx.activity(charge, order).compensate_with(refund)` runs `charge`
//! and, once it succeeds, registers `refund(receipt)` as pending.
//! `ctx.compensate(handle)` runs one pending compensation;
//! `ctx.compensate_all()` runs every pending one, most recent first (or
//! all at once with `.parallel()`). Compensations are activities — retried,
//! timed out, fenced and idempotent like any other — journaled as
//! `compensation_scheduled` / `compensation_completed` /
//! `compensation_failed`. One that fails for good is journaled and
//! reported; it does not end the run.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;

use super::activities::ActivityCall;
use super::core::{CallSite, Issued, OpenCommand, PendingCompensation, ResolutionKind};
use super::effect::EffectState;
use super::{Sited, WorkflowContext};
use crate::error::{ActivityError, RunFailure, WorkflowError};
use crate::event::{CommandKind, Event};
use crate::ids::Seq;
use crate::payload::Payload;
use crate::workflow::{Activity, ActivityRef};

/// The compensation a completed activity registered; pass it to
/// [`WorkflowContext::compensate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CompensationRef {
    compensates: Seq,
    activity: &'static str,
}

impl CompensationRef {
    /// The registered name of the compensating activity.
    pub fn activity(&self) -> &'static str {
        self.activity
    }
}

/// An activity's output together with the compensation it registered.
/// Derefs to the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Compensable<T> {
    value: T,
    compensation: CompensationRef,
}

impl<T> Compensable<T> {
    /// The compensation this activity registered.
    pub fn compensation(&self) -> CompensationRef {
        self.compensation
    }

    /// The activity's output.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for Compensable<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Why [`WorkflowContext::compensate`] did not compensate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompensationError {
    /// The compensation ran and failed for good (retries exhausted or a
    /// non-retryable error). It is journaled as `compensation_failed`.
    #[error("compensation `{activity}` failed: {error}")]
    Failed {
        /// The compensating activity.
        activity: String,
        /// Its last error.
        error: ActivityError,
    },
    /// Nothing was pending for this reference: it was compensated already
    /// (by an earlier `compensate` or a `compensate_all`). Nothing ran and
    /// nothing was journaled.
    #[error("compensation `{activity}` is not pending: it ran already")]
    NotPending {
        /// The compensating activity.
        activity: String,
    },
}

impl From<CompensationError> for WorkflowError {
    fn from(e: CompensationError) -> Self {
        match e {
            CompensationError::Failed { error, .. } => WorkflowError::Activity(error),
            other => WorkflowError::Message(other.to_string()),
        }
    }
}

/// What [`WorkflowContext::compensate_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompensationReport {
    /// Compensating activities that completed, in the order they ran (or
    /// were scheduled, in parallel mode).
    pub completed: Vec<String>,
    /// Those that failed for good, with their last error.
    pub failed: Vec<(String, ActivityError)>,
}

impl CompensationReport {
    /// Whether every compensation completed.
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty()
    }
}

/// What the compensation's input is.
enum CompensationInput<I> {
    /// The compensated activity's output.
    Output,
    /// Given by the caller.
    Given(I),
}

/// An activity call that registers a compensation when it succeeds;
/// returned by [`ActivityCall::compensate_with`].
#[must_use = "an activity does nothing until awaited"]
pub struct CompensableCall<'a, A: Activity, C: Activity> {
    call: ActivityCall<'a, A>,
    input: Option<CompensationInput<C::Input>>,
    _compensation: PhantomData<fn() -> C>,
}

impl<'a, A: Activity> ActivityCall<'a, A> {
    /// Registers `compensation`, called with this activity's output, as
    /// the undo step of this call once it succeeds (a failed call
    /// registers nothing). The call then yields a [`Compensable`] output:
    /// it derefs to the output and carries the handle for
    /// [`WorkflowContext::compensate`]; [`WorkflowContext::compensate_all`]
    /// runs every registered step, most recent first.
    pub fn compensate_with<C>(self, _compensation: impl ActivityRef<C>) -> CompensableCall<'a, A, C>
    where
        C: Activity<Input = A::Output>,
    {
        CompensableCall { call: self, input: Some(CompensationInput::Output), _compensation: PhantomData }
    }

    /// Like [`compensate_with`](Self::compensate_with), with the
    /// compensation's input given here instead of the activity's output.
    pub fn compensate_with_input<C: Activity>(
        self,
        _compensation: impl ActivityRef<C>,
        input: C::Input,
    ) -> CompensableCall<'a, A, C> {
        CompensableCall { call: self, input: Some(CompensationInput::Given(input)), _compensation: PhantomData }
    }
}

impl<A: Activity, C: Activity> Unpin for CompensableCall<'_, A, C> {}

impl<A, C> Future for CompensableCall<'_, A, C>
where
    A: Activity,
    C: Activity,
{
    type Output = Result<Compensable<A::Output>, ActivityError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let value = match Pin::new(&mut this.call).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(v)) => v,
        };
        let Some(compensates) = this.call.state.issued else {
            return Poll::Ready(Err(ActivityError::retryable("compensable call resolved without a command")));
        };
        let state = &this.call.state;
        let max = state.ctx.lock().max_payload;
        // The compensation's input, encoded now: the same code encodes the
        // same value on replay, so the registration is deterministic.
        let (payload, key) = match this.input.take() {
            Some(CompensationInput::Given(input)) => {
                (Payload::encode(&input).and_then(|p| p.within(max, C::NAME)), C::idempotency_key(&input))
            }
            _ => {
                // `compensate_with` only builds this arm with C::Input =
                // A::Output; the value round-trips through its encoding.
                let encoded = Payload::encode(&value).and_then(|p| p.within(max, C::NAME));
                let key = encoded
                    .as_ref()
                    .ok()
                    .and_then(|p| p.decode::<C::Input>().ok())
                    .and_then(|i| C::idempotency_key(&i));
                (encoded, key)
            }
        };
        let input = match payload {
            Ok(p) => p,
            Err(e) => state.fail(RunFailure::Error {
                message: format!("the input of compensation `{}` could not be recorded: {e}", C::NAME),
            }),
        };
        state.ctx.lock().compensations.push(PendingCompensation {
            compensates,
            activity: C::NAME,
            input,
            options: C::options(),
            key,
        });
        Poll::Ready(Ok(Compensable { value, compensation: CompensationRef { compensates, activity: C::NAME } }))
    }
}

/// One compensation being run; returned by [`WorkflowContext::compensate`].
#[must_use = "a compensation does nothing until awaited"]
pub struct Compensate<'a> {
    state: EffectState<'a>,
    /// What to run: chosen on the first poll (`Err` = the reference).
    target: Result<PendingCompensation, CompensationRef>,
    activity: &'static str,
}

impl<'a> Compensate<'a> {
    fn new(ctx: &'a WorkflowContext, at: CallSite, target: Result<PendingCompensation, CompensationRef>) -> Self {
        let activity = match &target {
            Ok(p) => p.activity,
            Err(r) => r.activity,
        };
        Self { state: EffectState::new(ctx, at), target, activity }
    }
}

impl Future for Compensate<'_> {
    type Output = Result<(), CompensationError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut not_pending = false;
        let target = &mut this.target;
        let polled = this.state.poll(cx, |core, at| {
            // Taken out of the pending set when first polled, so a later
            // `compensate_all` cannot run it a second time.
            let pending = match target {
                Ok(p) => p.clone(),
                Err(r) => {
                    let Some(i) = core.compensations.iter().position(|p| p.compensates == r.compensates) else {
                        not_pending = true;
                        return Some(0);
                    };
                    core.compensations.remove(i)
                }
            };
            let issued =
                core.issue(CommandKind::Compensation, pending.activity, at, |_| Event::CompensationScheduled {
                    site: at.id(),
                    activity: pending.activity.to_owned(),
                    input: pending.input.clone(),
                    compensates: pending.compensates,
                })?;
            let seq = match issued {
                Issued::Replayed(seq, _) => seq,
                Issued::Live(seq) => {
                    core.schedule_task(seq, pending.activity, pending.input, pending.options, pending.key);
                    seq
                }
            };
            core.open.insert(seq, OpenCommand::Compensation);
            Some(seq)
        });
        if not_pending {
            this.state.issued = None;
            this.state.done = true;
            return Poll::Ready(Err(CompensationError::NotPending { activity: this.activity.to_owned() }));
        }
        let (_, resolution) = match polled {
            Poll::Ready(r) => r,
            Poll::Pending => return Poll::Pending,
        };
        match resolution.kind {
            ResolutionKind::Activity(Ok(_)) => Poll::Ready(Ok(())),
            ResolutionKind::Activity(Err(error)) => {
                Poll::Ready(Err(CompensationError::Failed { activity: this.activity.to_owned(), error }))
            }
            other => this.state.fail(RunFailure::SuspendLeak { detail: format!("compensation resolved by {other:?}") }),
        }
    }
}

/// Runs every pending compensation; returned by
/// [`WorkflowContext::compensate_all`]. Await it directly for one at a
/// time, most recent first, or call [`parallel`](Self::parallel) first.
#[must_use = "compensations do nothing until awaited"]
pub struct CompensateAll<'a> {
    ctx: &'a WorkflowContext,
    at: CallSite,
    parallel: bool,
}

impl CompensateAll<'_> {
    /// Schedules every pending compensation at once and resumes when all
    /// of them have ended.
    pub fn parallel(mut self) -> Self {
        self.parallel = true;
        self
    }
}

impl<'a> IntoFuture for CompensateAll<'a> {
    type Output = CompensationReport;
    type IntoFuture = BoxFuture<'a, CompensationReport>;

    fn into_future(self) -> Self::IntoFuture {
        let CompensateAll { ctx, at, parallel } = self;
        Box::pin(async move {
            let mut report = CompensationReport::default();
            let mut record = |activity: &'static str, result: Result<(), CompensationError>| match result {
                Ok(()) => report.completed.push(activity.to_owned()),
                Err(CompensationError::Failed { error, .. }) => report.failed.push((activity.to_owned(), error)),
                Err(CompensationError::NotPending { .. }) => {}
            };
            if parallel {
                let pending: Vec<PendingCompensation> = std::mem::take(&mut ctx.lock().compensations);
                let calls: Vec<_> = pending.into_iter().rev().map(|p| Compensate::new(ctx, at, Ok(p))).collect();
                let activities: Vec<&'static str> = calls.iter().map(|c| c.activity).collect();
                let results = futures::future::join_all(calls).await;
                for (activity, result) in activities.into_iter().zip(results) {
                    record(activity, result);
                }
            } else {
                loop {
                    let next = ctx.lock().compensations.pop();
                    let Some(pending) = next else { break };
                    let activity = pending.activity;
                    record(activity, Compensate::new(ctx, at, Ok(pending)).await);
                }
            }
            report
        })
    }
}

impl WorkflowContext {
    /// Runs the compensation `handle` refers to and removes it from the
    /// pending set. A compensation that fails for good comes back as
    /// [`CompensationError::Failed`] (journaled; the run goes on). Called
    /// again for the same handle (or after `compensate_all` ran it), it
    /// runs nothing and returns [`CompensationError::NotPending`].
    #[track_caller]
    pub fn compensate(&self, handle: CompensationRef) -> Compensate<'_> {
        self.here().compensate(handle)
    }

    /// Runs every pending compensation, most recent first, one at a time
    /// (`.parallel()`: all at once), and reports what completed and what
    /// failed. Failures do not stop the others or the run. The usual place
    /// is a workflow's failure path:
    ///
    /// ```ignore
    /// let result = async {
    ///     let receipt = ctx.activity(charge, order.clone()).compensate_with(refund).await?;
    ///     ctx.activity(ship, order.clone()).await?;
    ///     Ok::<_, WorkflowError>(receipt.into_inner())
    /// }
    /// .await;
    /// if result.is_err() {
    ///     ctx.compensate_all().await;
    /// }
    /// result
    /// ```
    #[track_caller]
    pub fn compensate_all(&self) -> CompensateAll<'_> {
        self.here().compensate_all()
    }
}

impl<'a> Sited<'a> {
    /// See [`WorkflowContext::compensate`].
    pub fn compensate(self, handle: CompensationRef) -> Compensate<'a> {
        Compensate::new(self.ctx, self.at, Err(handle))
    }

    /// See [`WorkflowContext::compensate_all`].
    pub fn compensate_all(self) -> CompensateAll<'a> {
        CompensateAll { ctx: self.ctx, at: self.at, parallel: false }
    }
}
