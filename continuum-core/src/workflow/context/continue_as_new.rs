//! `ctx.continue_as_new(input)`: the run ends as continued and the
//! workflow goes on in a fresh run with an empty history.

use serde::Serialize;

use super::{WorkflowContext, abort};
use crate::error::RunFailure;
use crate::payload::Payload;

impl WorkflowContext {
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
