//! Starting runs: a client's start, a child a live command asks for, the
//! successor of a run that continues as new. Each is built and polled to
//! its first wait in memory and staged for creation (already leased to
//! this engine) in the commit that journals what asked for it.
//!
//! Never writes to the journal itself: creation happens in the commit
//! pipeline (`commit.rs`), and a start is answered only once that commit
//! settles.

use std::sync::Arc;

use tracing::{debug, info, warn};

use super::Engine;
use super::run::LiveRun;
use crate::error::{JournalError, RunFailure, StartError};
use crate::event::{Event, HistoryEvent, ParentRef};
use crate::ids::RunId;
use crate::journal::{CreateRun, IdReuse, Lease};
use crate::outcome::RunOutcome;
use crate::payload::Payload;
use crate::workflow::ErasedWorkflow;
use crate::workflow::context::core::NewChild;

/// A request to start a run.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// Registered workflow name.
    pub workflow: String,
    /// Caller-chosen workflow id; a random one when `None`.
    pub workflow_id: Option<String>,
    /// Encoded input.
    pub input: Payload,
    /// Check that `input` decodes as the workflow's input type first (for
    /// untyped starts).
    pub check_input: bool,
    /// When an id held by a chain that ended may be taken over.
    pub reuse: IdReuse,
    /// The chain's execution timeout, counted from now.
    pub execution_timeout: Option<std::time::Duration>,
}

/// Where a new run comes from: its parent (a child), the run it
/// continues (a successor), and its execution deadline.
struct Origin {
    parent: Option<ParentRef>,
    continued_from: Option<RunId>,
    deadline: Deadline,
}

/// A new run's execution deadline: a timeout counted from its creation,
/// or its chain's deadline (a successor's).
enum Deadline {
    After(Option<std::time::Duration>),
    At(Option<chrono::DateTime<chrono::Utc>>),
}

impl Engine {
    /// Starts a run and commits it: journaled already leased to this
    /// engine, run to its first wait, its first commands journaled in the
    /// same commit.
    pub async fn start(&mut self, req: StartRequest) -> Result<RunId, StartError> {
        let id = self.stage_start(req)?;
        self.commit().await;
        let at = self.start_results.iter().position(|(run, _)| *run == id);
        match at.map(|i| self.start_results.remove(i)) {
            Some((_, result)) => result,
            None => Err(StartError::Journal(JournalError::Backend("the start was not committed".into()))),
        }
    }

    /// Stages a run's start for the next [`commit`](Self::commit): the run
    /// is built and polled to its first wait in memory; it is inserted
    /// (already leased to this engine) with its first events by the
    /// commit, whose result appears in
    /// [`take_start_results`](Self::take_start_results). Nothing acts on
    /// the run before that.
    pub fn stage_start(&mut self, req: StartRequest) -> Result<RunId, StartError> {
        if self.draining {
            return Err(StartError::Shutdown);
        }
        let workflow = self
            .registry
            .workflow(&req.workflow)
            .cloned()
            .ok_or_else(|| StartError::UnknownWorkflow { name: req.workflow.clone() })?;
        if req.check_input {
            workflow
                .check_input(&req.input)
                .map_err(|error| StartError::InputType { workflow: req.workflow.clone(), error })?;
        }
        let id = RunId::new_random();
        let workflow_id = req.workflow_id.clone().unwrap_or_else(|| id.to_string());
        if self.staged_ids.contains_key(&workflow_id) {
            // Another start of this id is in the coming commit: this one is
            // decided once that one is, so a refusal always names the run
            // that holds the id (never a start that was itself refused).
            self.deferred_starts.entry(workflow_id).or_default().push_back((id, req));
            return Ok(id);
        }
        let deadline = Deadline::After(req.execution_timeout);
        self.stage_new_run(
            workflow,
            id,
            CreateRun { workflow_id, reuse: req.reuse },
            req.input,
            Origin { parent: None, continued_from: None, deadline },
        );
        Ok(id)
    }

    /// Decides the starts deferred behind the start of `workflow_id` that
    /// just settled: `holder` is the run that holds the id now (the settled
    /// start, or the run that refused it), or `None` if the settled start
    /// failed for another reason — then the next deferred start is staged
    /// in its place.
    pub(super) fn resolve_deferred_starts(&mut self, workflow_id: &str, holder: Option<RunId>) {
        let Some(mut waiting) = self.deferred_starts.remove(workflow_id) else { return };
        match holder {
            Some(existing) => {
                for (id, _) in waiting {
                    let error = StartError::DuplicateWorkflowId { workflow_id: workflow_id.to_owned(), existing };
                    self.start_results.push((id, Err(error)));
                }
            }
            None => {
                let Some((id, req)) = waiting.pop_front() else { return };
                match self.registry.workflow(&req.workflow).cloned() {
                    Some(workflow) => {
                        let create = CreateRun { workflow_id: workflow_id.to_owned(), reuse: req.reuse };
                        let deadline = Deadline::After(req.execution_timeout);
                        self.stage_new_run(
                            workflow,
                            id,
                            create,
                            req.input,
                            Origin { parent: None, continued_from: None, deadline },
                        );
                    }
                    None => self.start_results.push((id, Err(StartError::UnknownWorkflow { name: req.workflow }))),
                }
                if !waiting.is_empty() {
                    self.deferred_starts.insert(workflow_id.to_owned(), waiting);
                }
            }
        }
    }

    /// Builds a run that does not exist yet, polls it to its first wait and
    /// stages its creation (already leased to this engine) with its first
    /// events for the next commit.
    fn stage_new_run(
        &mut self,
        workflow: ErasedWorkflow,
        id: RunId,
        create: CreateRun,
        input: Payload,
        origin: Origin,
    ) {
        let Origin { parent, continued_from, deadline } = origin;
        let now = self.clock.now();
        let deadline = match deadline {
            Deadline::After(timeout) => timeout.map(|t| crate::clock::add(now, t)),
            Deadline::At(at) => at,
        };
        let started = HistoryEvent {
            seq: 1,
            at: now,
            event: Event::RunStarted {
                workflow: workflow.name.to_owned(),
                version: workflow.version,
                input,
                parent,
                continued_from,
                deadline,
            },
        };
        let lease = Lease { run: id, token: 0 };
        let (mut live, failure) =
            LiveRun::new(workflow, id, Arc::from(vec![started.clone()]), lease, now, self.limits());
        // The run's first event is journaled by the commit that creates it.
        live.core().outbox.push(started);
        live.workflow_id.clone_from(&create.workflow_id);
        let workflow_id = create.workflow_id.clone();
        live.pending_create = Some(create);
        match failure {
            Some(f) => {
                live.fail(f);
            }
            None => {
                live.poll_live(now);
            }
        }
        if continued_from.is_none() {
            // A successor takes its chain's id; only a new chain claims one.
            self.staged_ids.insert(workflow_id, id);
        }
        self.insert_live(live);
        self.pump(id);
    }

    /// Stages the successor of a run that continued as new, in the same
    /// commit as the predecessor's end: the workflow's current version, an
    /// empty history, the same parent (a continued child stays its
    /// parent's child) and the chain's workflow id.
    pub(super) fn stage_successor(&mut self, run: RunId, next: RunId, input: Payload) {
        let Some(live) = self.live.get(&run) else { return };
        let name = live.workflow.name;
        let parent = live.core().parent;
        let workflow = self.registry.workflow(name).cloned().unwrap_or_else(|| live.workflow.clone());
        info!(run_id = %run, next_run_id = %next, workflow = name, "run continues as new");
        // The successor keeps the chain's workflow id; passing it here (not
        // leaving the journal to look it up) lets a run that continues in
        // its very first step, created in this same commit, pass it on.
        // A successor claims no id: reuse does not apply to it.
        let create = CreateRun { workflow_id: live.workflow_id.clone(), reuse: IdReuse::Never };
        let deadline = Deadline::At(live.deadline);
        self.stage_new_run(workflow, next, create, input, Origin { parent, continued_from: Some(run), deadline });
    }

    /// Stages the creation of a child a live command asked for, in the
    /// same commit as the parent's `ChildStarted` (see
    /// [`flush`](Self::flush)). A child whose workflow is not registered
    /// here is refused: the parent gets that as the child's outcome.
    pub(super) fn stage_child(&mut self, parent: RunId, child: NewChild) -> Result<(), RunOutcome> {
        let Some(workflow) = self.registry.workflow(&child.workflow).cloned() else {
            warn!(run_id = %parent, child = %child.workflow, "child workflow is not registered here; the parent gets an error");
            return Err(RunOutcome::Failed(RunFailure::UnknownWorkflow { name: child.workflow }));
        };
        let depth = self.live.get(&parent).and_then(|l| l.core().parent).map_or(0, |p| p.depth) + 1;
        let parent_ref = ParentRef { run: parent, command: child.seq, depth };
        debug!(run_id = %parent, child_id = %child.child, workflow = workflow.name, "starting a child run");
        // A child's id is its run id, derived from its parent: never reused.
        let create = CreateRun { workflow_id: child.child.to_string(), reuse: IdReuse::Never };
        self.stage_new_run(
            workflow,
            child.child,
            create,
            child.input,
            Origin { parent: Some(parent_ref), continued_from: None, deadline: Deadline::At(None) },
        );
        Ok(())
    }
}
