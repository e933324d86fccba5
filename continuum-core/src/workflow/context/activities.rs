//! Activities: `ctx.activity(..)` schedules one and awaits its result.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::WorkflowContext;
use super::core::{CallSite, Issued, OpenCommand, ResolutionKind};
use super::effect::EffectState;
use crate::error::{ActivityError, RunFailure};
use crate::event::{CommandKind, Event};
use crate::payload::Payload;
use crate::retry::RetryPolicy;
use crate::workflow::{Activity, ActivityOptions};

/// A scheduled activity; await it for the result. Returned by
/// [`WorkflowContext::activity`].
#[must_use = "an activity does nothing until awaited"]
pub struct ActivityCall<'a, A: Activity> {
    pub(super) state: EffectState<'a>,
    input: Option<A::Input>,
    options: ActivityOptions,
    key: Option<String>,
    _activity: PhantomData<fn() -> A>,
}

impl<'a, A: Activity> ActivityCall<'a, A> {
    pub(super) fn new(ctx: &'a WorkflowContext, at: CallSite, input: A::Input) -> Self {
        let key = A::idempotency_key(&input);
        Self {
            state: EffectState::new(ctx, at),
            input: Some(input),
            options: A::options(),
            key,
            _activity: PhantomData,
        }
    }

    /// Overrides the retry policy for this call.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// Overrides the total number of attempts for this call.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.options.retry = self.options.retry.max_attempts(attempts);
        self
    }

    /// Overrides the per-attempt timeout for this call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Sets an idempotency key for this call: a result already stored
    /// under the key is reused instead of running the activity again.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl<A: Activity> Unpin for ActivityCall<'_, A> {}

impl<A: Activity> Future for ActivityCall<'_, A> {
    type Output = Result<A::Output, ActivityError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut encode_error = None;
        let (input, options, key) = (&mut this.input, this.options, &this.key);
        let polled = this.state.poll(cx, |core, at| {
            let max = core.max_payload;
            let payload = match input.take().map(|i| Payload::encode(&i).and_then(|p| p.within(max, A::NAME))) {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    encode_error = Some(e);
                    return Some(0);
                }
                None => Payload::unit(),
            };
            let issued = core.issue(CommandKind::Activity, A::NAME, at, |_| Event::ActivityScheduled {
                site: at.id(),
                activity: A::NAME.to_owned(),
                input: payload.clone(),
            })?;
            let seq = match issued {
                Issued::Replayed(seq, _) => seq,
                Issued::Live(seq) => {
                    core.schedule_task(seq, A::NAME, payload, options, key.clone());
                    seq
                }
            };
            core.open.insert(seq, OpenCommand::Activity);
            Some(seq)
        });
        if let Some(e) = encode_error {
            // Nothing was journaled; the same code fails the same way on
            // replay, so handing the error back is deterministic.
            this.state.issued = None;
            this.state.done = true;
            return Poll::Ready(Err(e.into()));
        }
        let (_, resolution) = match polled {
            Poll::Ready(r) => r,
            Poll::Pending => return Poll::Pending,
        };
        match resolution.kind {
            ResolutionKind::Activity(Ok(payload)) => match payload.decode::<A::Output>() {
                Ok(v) => Poll::Ready(Ok(v)),
                Err(error) => {
                    let run = this.state.ctx.run_id();
                    this.state.fail(RunFailure::HistoryDecode { run, seq: resolution.event_seq, error })
                }
            },
            ResolutionKind::Activity(Err(e)) => Poll::Ready(Err(e)),
            other => this.state.fail(RunFailure::SuspendLeak { detail: format!("activity resolved by {other:?}") }),
        }
    }
}
