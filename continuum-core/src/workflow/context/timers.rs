//! Durable timers: `ctx.sleep(..)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::WorkflowContext;
use super::core::{CallSite, Issued, OpenCommand, Recorded};
use super::effect::EffectState;
use crate::clock;
use crate::event::{CommandKind, Event};

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
