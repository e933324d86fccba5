//! Settling a commit: acting on what the journal applied — timers armed,
//! tasks handed to this process's workers, outcomes published, starts
//! answered, a child's end passed to its parent — and dropping or
//! reloading the runs whose writes were refused or whose commit failed.
//!
//! A result concerns a live run only if it is the same incarnation that
//! presented the write (`same_incarnation`).

use tracing::{debug, error, info, warn};

use super::Engine;
use super::commit::Committed;
use super::prepare::Plan;
use super::run::Inbound;
use crate::error::{ActivityError, ActivityErrorKind, JournalError, StartError};
use crate::ids::RunId;
use crate::journal::{ActivityTask, ChildReport, CreateRun, TaskOutcome, Written};
use crate::outcome::RunOutcome;

impl Engine {
    /// Acts on a commit that ended (see [`flush`](Self::flush)): arms
    /// timers, hands tasks leased to this process to
    /// [`take_dispatch`](Self::take_dispatch), publishes outcomes, reports
    /// starts. A run whose write was rejected (fenced, conflicting) is
    /// dropped: another engine owns it now. If the commit failed as a
    /// whole, its runs are reloaded from the journal before anything else
    /// is written to them.
    pub fn settle(&mut self, committed: Committed) {
        let Committed { plans, result } = committed;
        let mut starts = Vec::new();
        for plan in &plans {
            self.committing.remove(&plan.run);
            let Some(workflow_id) = plan.create.as_ref().map(|c| &c.workflow_id) else { continue };
            if self.staged_ids.get(workflow_id) == Some(&plan.run) {
                self.staged_ids.remove(workflow_id);
            }
            if plan.client_start {
                starts.push((workflow_id.clone(), plan.run));
            }
        }
        match result {
            Ok(results) => {
                for (plan, result) in plans.into_iter().zip(results) {
                    self.settle_one(plan, result);
                }
            }
            Err(error) => {
                warn!(%error, runs = plans.len(), "journal commit failed; its runs will be reloaded");
                for mut plan in plans {
                    self.release_local(plan.local.len());
                    // Results of this process's attempts go back to their
                    // tasks, for the reloaded run to find there.
                    self.handed_back.append(&mut plan.attempts);
                    if let (Some(CreateRun { workflow_id, .. }), true) = (&plan.create, plan.client_start) {
                        debug!(run_id = %plan.run, workflow_id, "start not confirmed");
                        self.start_results.push((plan.run, Err(StartError::Journal(error.clone()))));
                    }
                    if self.same_incarnation(plan.run, plan.presented) {
                        self.drop_run(plan.run);
                        self.reload.insert(plan.run);
                    }
                }
            }
        }
        for (workflow_id, run) in starts {
            let holder = match self.start_results.iter().rev().find(|(r, _)| *r == run).map(|(_, result)| result) {
                Some(Ok(run)) => Some(*run),
                Some(Err(StartError::DuplicateWorkflowId { existing, .. })) => Some(*existing),
                _ => None,
            };
            self.resolve_deferred_starts(&workflow_id, holder);
        }
        self.evict_if_needed();
    }

    /// Whether the live copy of `run` (if any) is the one that presented
    /// `token`: a run dropped and loaded again meanwhile is another
    /// incarnation, which an old write's result must not touch.
    pub(super) fn same_incarnation(&self, run: RunId, token: u64) -> bool {
        self.live.get(&run).is_none_or(|l| l.lease.token == token)
    }

    /// Acts on one run's write once the journal has answered.
    fn settle_one(&mut self, plan: Plan, result: Result<Written, JournalError>) {
        let run = plan.run;
        let current = self.same_incarnation(run, plan.presented);
        let written = match result {
            Ok(written) => written,
            Err(error) => {
                self.release_local(plan.local.len());
                self.handed_back.extend(plan.attempts);
                let workflow = self.live.get(&run).map_or("?", |l| l.workflow.name);
                match (&plan.create, plan.client_start) {
                    // A child whose derived id exists already was created
                    // by an earlier attempt of the same command: that run
                    // goes on and reports to the parent.
                    (Some(_), false) => {
                        debug!(run_id = %run, %error, "child or successor run not created");
                    }
                    (Some(_), true) => {
                        let error = match error {
                            JournalError::DuplicateWorkflowId { workflow_id, existing } => {
                                StartError::DuplicateWorkflowId { workflow_id, existing }
                            }
                            other => StartError::Journal(other),
                        };
                        debug!(run_id = %run, workflow, %error, "run not started");
                        self.start_results.push((run, Err(error)));
                    }
                    // A write that can never be applied: the run fails
                    // with that as its reason, instead of the write being
                    // retried forever.
                    (None, _) if matches!(error, JournalError::WriteRefused { .. }) && current => {
                        error!(run_id = %run, workflow, %error, "the journal rejects the run's write; failing the run");
                        if let (JournalError::WriteRefused { detail, .. }, Some(live)) = (&error, self.live.get(&run)) {
                            self.refused.push((live.lease.clone(), detail.clone()));
                        }
                    }
                    // Fenced or conflicting: another engine owns the run
                    // now. Drop our copy; nothing of it was applied.
                    (None, _) => warn!(run_id = %run, workflow, %error, "journal write rejected; dropping the run"),
                }
                if current {
                    self.drop_run(run);
                }
                return;
            }
        };
        if plan.client_start {
            let workflow = self.live.get(&run).map_or("?", |l| l.workflow.name);
            info!(run_id = %run, workflow, "run started");
            self.start_results.push((run, Ok(run)));
        }
        if let Some(next) = plan.continued {
            if current {
                self.drop_run(run);
            }
            self.outcomes.forward(run, next);
        }
        if current && let Some(live) = self.live.get_mut(&run) {
            live.lease = written.lease;
        }
        self.release_local(plan.local.len().saturating_sub(written.leased_tasks.len()));
        for (seq, token) in written.leased_tasks {
            if let Some(t) = plan.local.iter().find(|t| t.seq == seq) {
                self.dispatch.push(ActivityTask {
                    run,
                    seq,
                    activity: t.activity.clone(),
                    input: t.input.clone(),
                    attempt: 1,
                    retry: t.retry,
                    timeout: t.timeout,
                    token,
                    idempotency_key: t.idempotency_key.clone(),
                });
            }
        }
        if current && self.owns(run) {
            for (at, seq, kind) in plan.arms {
                self.timers.arm(at, run, seq, kind);
            }
        }
        if current
            && !plan.unrunnable.is_empty()
            && let Some(live) = self.live.get_mut(&run)
        {
            for (seq, activity) in plan.unrunnable {
                let error = ActivityError::of_kind(
                    ActivityErrorKind::UnknownActivity,
                    format!("no activity named `{activity}` is registered with this runtime"),
                    true,
                );
                live.inbox.push_back(Inbound::Task(TaskOutcome { run, seq, attempts: 0, result: Err(error) }));
            }
            self.pump(run);
        }
        if let Some(outcome) = plan.outcome {
            let workflow = self.live.get(&run).map_or("?", |l| l.workflow.name);
            match &outcome {
                RunOutcome::Completed(_) => info!(run_id = %run, workflow, "run completed"),
                RunOutcome::Failed(failure) => warn!(run_id = %run, workflow, %failure, "run failed"),
                RunOutcome::Cancelled(_) => info!(run_id = %run, workflow, "run cancelled"),
            }
            if current {
                self.drop_run(run);
            }
            self.outcomes.publish(run, outcome);
        }
        if let Some(report) = plan.report {
            self.deliver_child_report(report);
        }
    }

    /// A child's end reaches a parent served here at once; the journal
    /// holds it for any other (and tells the parent's owner).
    pub(super) fn deliver_child_report(&mut self, report: ChildReport) {
        if let Some(parent) = self.live.get_mut(&report.parent) {
            parent.inbox.push_back(Inbound::Child(report.command, report.outcome));
            self.pump(report.parent);
        } else if self.parked.contains_key(&report.parent) {
            self.wake_soon.push(report.parent);
        }
    }
}
