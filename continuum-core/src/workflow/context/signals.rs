//! Signal waits: `ctx.signal(..)` takes the next signal of a name from
//! the run's durable mailbox, optionally with a timeout.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::WorkflowContext;
use super::core::{CallSite, Issued, OpenCommand, Recorded, ResolutionKind};
use super::effect::EffectState;
use crate::clock;
use crate::error::{RunFailure, SignalError};
use crate::event::{CommandKind, Event};

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
