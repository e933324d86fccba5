//! The awaitable effects: activities, timers, signal waits.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::core::{CallSite, Issued, OpenCommand, Recorded, ResolutionKind};
use super::{WorkflowContext, abort};
use crate::clock;
use crate::error::{ActivityError, RunFailure, SignalError};
use crate::event::{CommandKind, Event};
use crate::ids::Seq;
use crate::payload::Payload;
use crate::retry::RetryPolicy;
use crate::workflow::{Activity, ActivityOptions};

/// Issues the command on first poll, then waits for its resolution.
/// Unpin: holds no self-references.
pub(super) struct EffectState<'a> {
    pub(super) ctx: &'a WorkflowContext,
    at: CallSite,
    pub(super) issued: Option<Seq>,
    pub(super) done: bool,
}

impl<'a> EffectState<'a> {
    pub(super) fn new(ctx: &'a WorkflowContext, at: CallSite) -> Self {
        Self { ctx, at, issued: None, done: false }
    }

    /// Polls for the resolution of the command, issuing it first if needed
    /// with `issue`, which returns the command's seq or `None` on a fatal
    /// failure (already recorded).
    pub(super) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        issue: impl FnOnce(&mut super::core::RunCore, CallSite) -> Option<Seq>,
    ) -> Poll<(Seq, super::core::Resolution)> {
        let mut core = self.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        let seq = match self.issued {
            Some(seq) => seq,
            None => match issue(&mut core, self.at) {
                Some(seq) => {
                    self.issued = Some(seq);
                    seq
                }
                None => {
                    drop(core);
                    abort();
                }
            },
        };
        match core.take_resolution(seq, cx.waker()) {
            Some(r) => {
                self.done = true;
                Poll::Ready((seq, r))
            }
            None => Poll::Pending,
        }
    }

    pub(super) fn fail(&self, failure: RunFailure) -> ! {
        self.ctx.lock().fatal = Some(failure);
        abort()
    }
}

impl Drop for EffectState<'_> {
    fn drop(&mut self) {
        if let (Some(seq), false) = (self.issued, self.done) {
            self.ctx.lock().abandon(seq);
        }
    }
}

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

/// A durable timer; returned by [`WorkflowContext::sleep`].
#[must_use = "a timer does nothing until awaited"]
pub struct Sleep<'a> {
    state: EffectState<'a>,
    duration: Duration,
}

impl<'a> Sleep<'a> {
    pub(super) fn new(ctx: &'a WorkflowContext, at: CallSite, duration: Duration) -> Self {
        Self { state: EffectState::new(ctx, at), duration }
    }
}

impl Future for Sleep<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let duration = this.duration;
        let polled = this.state.poll(cx, |core, at| {
            let issued = core.issue(CommandKind::Timer, "", at, |core| Event::TimerStarted {
                site: at.id(),
                fire_at: clock::add(core.now, duration),
            })?;
            let seq = match issued {
                Issued::Replayed(seq, Recorded::FireAt(fire_at)) => {
                    core.open.insert(seq, OpenCommand::Timer { fire_at });
                    seq
                }
                Issued::Replayed(seq, _) => seq,
                Issued::Live(seq) => {
                    let fire_at = clock::add(core.now, duration);
                    core.open.insert(seq, OpenCommand::Timer { fire_at });
                    seq
                }
            };
            Some(seq)
        });
        polled.map(|_| ())
    }
}

/// A wait for a signal; returned by [`WorkflowContext::signal`].
#[must_use = "a signal wait does nothing until awaited"]
pub struct SignalWait<'a, T> {
    state: EffectState<'a>,
    name: String,
    timeout: Option<Duration>,
    _value: PhantomData<fn() -> T>,
}

impl<'a, T: DeserializeOwned> SignalWait<'a, T> {
    pub(super) fn new(ctx: &'a WorkflowContext, at: CallSite, name: &str) -> Self {
        Self { state: EffectState::new(ctx, at), name: name.to_owned(), timeout: None, _value: PhantomData }
    }

    /// Gives up after `timeout`, resolving to [`SignalError::TimedOut`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<T> Unpin for SignalWait<'_, T> {}

impl<T: DeserializeOwned> Future for SignalWait<'_, T> {
    type Output = Result<T, SignalError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (name, timeout) = (&this.name, this.timeout);
        let polled = this.state.poll(cx, |core, at| {
            let issued = core.issue(CommandKind::Signal, name, at, |core| Event::SignalAwaited {
                site: at.id(),
                name: name.clone(),
                timeout_at: timeout.map(|t| clock::add(core.now, t)),
            })?;
            let (seq, timeout_at) = match issued {
                Issued::Replayed(seq, Recorded::TimeoutAt(timeout_at)) => (seq, timeout_at),
                Issued::Replayed(seq, _) => (seq, None),
                Issued::Live(seq) => (seq, timeout.map(|t| clock::add(core.now, t))),
            };
            core.open.insert(seq, OpenCommand::Signal { name: name.clone(), timeout_at });
            Some(seq)
        });
        let (_, resolution) = match polled {
            Poll::Ready(r) => r,
            Poll::Pending => return Poll::Pending,
        };
        match resolution.kind {
            ResolutionKind::Signal(Some(payload)) => Poll::Ready(
                payload.decode::<T>().map_err(|error| SignalError::Decode { name: this.name.clone(), error }),
            ),
            ResolutionKind::Signal(None) => Poll::Ready(Err(SignalError::TimedOut { name: this.name.clone() })),
            other => this.state.fail(RunFailure::SuspendLeak { detail: format!("signal resolved by {other:?}") }),
        }
    }
}
