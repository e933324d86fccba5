//! Child workflows: `ctx.child(wf, input)` starts a child run and waits
//! for its result; `ctx.start_child(wf, input)` starts it and returns a
//! handle to await later.
//!
//! A child's run id is derived from the parent's id and the caller's key
//! (unique per parent), or without a key from the call site and the
//! command's seq, so a replayed parent never starts
//! a second child. The child is created in the same journal commit as the
//! parent's `child_started` event, runs on its own (its own lease, its own
//! history), and its end is journaled in the parent as `child_completed`,
//! `child_failed` or `child_cancelled`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::core::{CallSite, Issued, NewChild, OpenCommand, Recorded, ResolutionKind};
use super::{Sited, WorkflowContext, abort};
use crate::error::{ChildError, RunFailure};
use crate::event::{CommandKind, Event};
use crate::ids::{RunId, Seq, SiteId};
use crate::outcome::RunOutcome;
use crate::payload::Payload;
use crate::workflow::{Workflow, WorkflowRef};

/// Starts a child run; returned by [`WorkflowContext::start_child`].
/// Await it for a [`ChildHandle`].
#[must_use = "a child is not started until this is awaited"]
pub struct StartChild<'a, W: Workflow> {
    ctx: &'a WorkflowContext,
    at: CallSite,
    input: Option<W::Input>,
    key: Option<String>,
}

impl<'a, W: Workflow> StartChild<'a, W> {
    fn new(ctx: &'a WorkflowContext, at: CallSite, input: W::Input) -> Self {
        Self { ctx, at, input: Some(input), key: None }
    }

    /// Names this child within its parent: its run id is derived from the
    /// parent and `key` (instead of the call site and the command's
    /// position). Keys are unique per parent run: a second start with a
    /// key the parent already used, at any call site, starts nothing and
    /// is refused with [`ChildError::DuplicateKey`].
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl<W: Workflow> Unpin for StartChild<'_, W> {}

impl<'a, W: Workflow> Future for StartChild<'a, W> {
    type Output = Result<ChildHandle<'a, W>, ChildError>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ctx = this.ctx;
        let mut core = ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        let Some(input) = this.input.take() else {
            drop(core);
            abort();
        };
        let input = match Payload::encode(&input).and_then(|p| p.within(core.max_payload, W::NAME)) {
            Ok(p) => p,
            // Nothing journaled; the same code fails the same way on replay.
            Err(e) => return Poll::Ready(Err(ChildError::Input(e))),
        };
        let depth = core.parent.map_or(0, |p| p.depth) + 1;
        if depth > core.max_child_depth {
            core.fatal = Some(RunFailure::ChildDepth { depth, max: core.max_child_depth });
            drop(core);
            abort();
        }
        let at = this.at;
        // The command's seq: the recorded one while replaying, the next one
        // live.
        let seq = core.history.get(core.cursor).map_or(core.next_seq, |e| e.seq);
        // A key names the child within its parent, wherever it is started
        // (a call site in the body or in a helper); without one, the call
        // site and the command's seq do.
        let derived = match &this.key {
            Some(key) => {
                if core.child_keys.contains(key) {
                    return Poll::Ready(Err(ChildError::DuplicateKey { key: key.clone() }));
                }
                RunId::derived(core.run, SiteId::UNSITED, &format!("key:{key}"))
            }
            None => RunId::derived(core.run, at.id(), &format!("#{seq}")),
        };
        let key = this.key.clone();
        let issued = core.issue(CommandKind::Child, W::NAME, at, |_| Event::ChildStarted {
            site: at.id(),
            workflow: W::NAME.to_owned(),
            input: input.clone(),
            child: derived,
            key,
        });
        let Some(issued) = issued else {
            drop(core);
            abort();
        };
        let (seq, child) = match issued {
            Issued::Replayed(seq, Recorded::Child { input: recorded, child }) => {
                if recorded != input {
                    let failure = core.drift_with(
                        seq,
                        None,
                        None,
                        Some(format!(
                            "child `{}` was started with input {recorded}, the code now passes {input}",
                            W::NAME
                        )),
                    );
                    core.fatal = Some(failure);
                    drop(core);
                    abort();
                }
                (seq, child)
            }
            Issued::Replayed(..) => {
                drop(core);
                abort();
            }
            Issued::Live(seq) => {
                core.new_children.push(NewChild { seq, child: derived, workflow: W::NAME.to_owned(), input });
                (seq, derived)
            }
        };
        core.children.insert(child);
        if let Some(key) = &this.key {
            core.child_keys.insert(key.clone());
        }
        core.open.insert(seq, OpenCommand::Child);
        Poll::Ready(Ok(ChildHandle { ctx, command: seq, child, _workflow: PhantomData }))
    }
}

/// A started child run; [`result`](Self::result) waits for its end.
pub struct ChildHandle<'a, W: Workflow> {
    ctx: &'a WorkflowContext,
    command: Seq,
    child: RunId,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> std::fmt::Debug for ChildHandle<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildHandle").field("child", &self.child).field("workflow", &W::NAME).finish()
    }
}

impl<'a, W: Workflow> ChildHandle<'a, W> {
    /// The child's run id.
    pub fn id(&self) -> RunId {
        self.child
    }

    /// Waits for the child to end: its output, or why there is none.
    pub fn result(self) -> ChildResult<'a, W> {
        ChildResult { ctx: self.ctx, command: self.command, child: self.child, done: false, _workflow: PhantomData }
    }
}

/// The wait for a child's end; returned by [`ChildHandle::result`].
#[must_use = "a child's result is not read until awaited"]
pub struct ChildResult<'a, W: Workflow> {
    ctx: &'a WorkflowContext,
    command: Seq,
    child: RunId,
    done: bool,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> Unpin for ChildResult<'_, W> {}

impl<W: Workflow> Future for ChildResult<'_, W> {
    type Output = Result<W::Output, ChildError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut core = this.ctx.lock();
        if !core.enter() {
            drop(core);
            abort();
        }
        let Some(resolution) = core.take_resolution(this.command, cx.waker()) else { return Poll::Pending };
        this.done = true;
        let child = this.child;
        Poll::Ready(match resolution.kind {
            ResolutionKind::Child(RunOutcome::Completed(output)) => {
                output.decode::<W::Output>().map_err(|error| ChildError::Decode { child, error })
            }
            ResolutionKind::Child(RunOutcome::Failed(RunFailure::UnknownWorkflow { name })) => {
                Err(ChildError::UnknownWorkflow { workflow: name })
            }
            ResolutionKind::Child(RunOutcome::Failed(failure)) => Err(ChildError::Failed { child, failure }),
            ResolutionKind::Child(RunOutcome::Cancelled(reason)) => Err(ChildError::Cancelled { child, reason }),
            other => {
                core.fatal = Some(RunFailure::SuspendLeak { detail: format!("child resolved by {other:?}") });
                drop(core);
                abort();
            }
        })
    }
}

impl<W: Workflow> Drop for ChildResult<'_, W> {
    fn drop(&mut self) {
        if !self.done {
            self.ctx.lock().abandon(self.command);
        }
    }
}

/// Starts a child and waits for its output; returned by
/// [`WorkflowContext::child`].
#[must_use = "a child is not started until this is awaited"]
pub struct ChildCall<'a, W: Workflow> {
    state: ChildCallState<'a, W>,
}

enum ChildCallState<'a, W: Workflow> {
    Start(StartChild<'a, W>),
    Wait(ChildResult<'a, W>),
    Done,
}

impl<W: Workflow> Unpin for ChildCall<'_, W> {}

impl<W: Workflow> Future for ChildCall<'_, W> {
    type Output = Result<W::Output, ChildError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                ChildCallState::Start(start) => match Pin::new(start).poll(cx) {
                    Poll::Ready(Ok(handle)) => this.state = ChildCallState::Wait(handle.result()),
                    Poll::Ready(Err(e)) => {
                        this.state = ChildCallState::Done;
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => return Poll::Pending,
                },
                ChildCallState::Wait(wait) => {
                    let out = std::task::ready!(Pin::new(wait).poll(cx));
                    this.state = ChildCallState::Done;
                    return Poll::Ready(out);
                }
                ChildCallState::Done => {
                    return Poll::Ready(Err(ChildError::Input(crate::payload::PayloadError {
                        direction: "polling".into(),
                        type_name: W::NAME.into(),
                        message: "the child call was polled after it finished".into(),
                    })));
                }
            }
        }
    }
}

impl WorkflowContext {
    /// Starts child workflow `W` with `input` and waits for its output.
    /// The child runs as its own run (own history, own lease); a failure
    /// or cancellation of the child comes back as a [`ChildError`] value.
    #[track_caller]
    pub fn child<W: Workflow>(&self, workflow: impl WorkflowRef<W>, input: W::Input) -> ChildCall<'_, W> {
        self.here().child(workflow, input)
    }

    /// Starts child workflow `W` with `input` and returns a handle to
    /// await its result later (fan out, then fan in). Set a key with
    /// [`StartChild::key`] to name the child.
    #[track_caller]
    pub fn start_child<W: Workflow>(&self, workflow: impl WorkflowRef<W>, input: W::Input) -> StartChild<'_, W> {
        self.here().start_child(workflow, input)
    }
}

impl<'a> Sited<'a> {
    /// See [`WorkflowContext::child`].
    pub fn child<W: Workflow>(self, workflow: impl WorkflowRef<W>, input: W::Input) -> ChildCall<'a, W> {
        ChildCall { state: ChildCallState::Start(self.start_child(workflow, input)) }
    }

    /// See [`WorkflowContext::start_child`].
    pub fn start_child<W: Workflow>(self, _workflow: impl WorkflowRef<W>, input: W::Input) -> StartChild<'a, W> {
        StartChild::new(self.ctx, self.at, input)
    }
}
