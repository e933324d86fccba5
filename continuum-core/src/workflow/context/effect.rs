//! What every awaitable effect shares: issue the command on first poll,
//! then wait for the engine to deliver its resolution.

use std::task::{Context, Poll};

use super::core::CallSite;
use super::{WorkflowContext, abort};
use crate::error::RunFailure;
use crate::ids::Seq;

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
