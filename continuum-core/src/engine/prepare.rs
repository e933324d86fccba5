//! Preparing a commit: taking from each staged run what it produced since
//! its last commit — events, new tasks (some leased straight to this
//! process's workers), resolved tasks, consumed signals, a child's end for
//! its parent — as one `RunWrite`, with the
//! `Plan` of what to do once it is applied.
//!
//! Touches only memory; never acts on anything a write asks for.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use tracing::{debug, warn};

use super::Engine;
use super::timers::TimerKind;
use crate::event::Event;
use crate::ids::{RunId, Seq};
use crate::journal::{ActivityTask, AttemptResult, NewActivityTask};
use crate::journal::{ChildReport, CreateRun, RunAppend, RunWrite};
use crate::outcome::RunOutcome;

/// One run's write in a commit, and what to do once it is applied.
pub(super) struct Plan {
    pub(super) run: RunId,
    pub(super) create: Option<CreateRun>,
    pub(super) arms: Vec<(DateTime<Utc>, Seq, TimerKind)>,
    pub(super) outcome: Option<RunOutcome>,
    /// Tasks asked to be leased to this process.
    pub(super) local: Vec<NewActivityTask>,
    /// The lease token the write presented (0 for a new run): the result
    /// concerns the live run only if it still holds this token.
    pub(super) presented: u64,
    /// A child's end, left for its parent.
    pub(super) report: Option<ChildReport>,
    /// This process's attempt results the write journals.
    pub(super) attempts: Vec<(ActivityTask, AttemptResult)>,
    /// The successor, if the write ends the run by continuing it.
    pub(super) continued: Option<RunId>,
    /// Tasks of activities no worker registers, on a journal only this
    /// process uses: failed with `UnknownActivity` once journaled.
    pub(super) unrunnable: Vec<(Seq, String)>,
    /// Whether a client waits for this run's start (not a child, not a
    /// successor).
    pub(super) client_start: bool,
}

impl Engine {
    /// Takes what each run produced since its last commit.
    pub(super) fn prepare(&mut self, batch: Vec<RunId>) -> (Vec<RunWrite>, Vec<Plan>) {
        let mut writes = Vec::with_capacity(batch.len());
        let mut plans = Vec::with_capacity(batch.len());
        for run in batch {
            let depends_on = self.created_with(run);
            let Some(live) = self.live.get_mut(&run) else { continue };
            live.dirty = false;
            let (events, mut new_tasks) = {
                let mut core = live.core();
                (std::mem::take(&mut core.outbox), std::mem::take(&mut core.new_tasks))
            };
            let resolved_tasks = std::mem::take(&mut live.resolved_tasks);
            let consumed_signals = std::mem::take(&mut live.consumed_signals);
            let resolved_children = std::mem::take(&mut live.resolved_children);
            if events.is_empty()
                && resolved_tasks.is_empty()
                && consumed_signals.is_empty()
                && resolved_children.is_empty()
            {
                continue;
            }
            let workflow = live.workflow.name;
            let mut plan = Plan {
                run,
                create: live.pending_create.take(),
                arms: Vec::new(),
                outcome: None,
                local: Vec::new(),
                presented: live.lease.token,
                report: None,
                attempts: std::mem::take(&mut live.attempts),
                continued: None,
                unrunnable: Vec::new(),
                client_start: false,
            };
            plan.client_start = plan.create.is_some() && depends_on.is_none();
            for ev in &events {
                debug!(run_id = %run, workflow, seq = ev.seq, event = ev.event.type_name(), "journaling event");
                match &ev.event {
                    Event::TimerStarted { fire_at, .. } => plan.arms.push((*fire_at, ev.seq, TimerKind::Timer)),
                    // A wait already answered in this write (the signal was
                    // waiting) needs no timeout timer.
                    Event::SignalAwaited { timeout_at: Some(at), .. } if live.is_open(ev.seq) => {
                        plan.arms.push((*at, ev.seq, TimerKind::SignalTimeout));
                    }
                    Event::RunStarted { deadline: Some(at), .. } => plan.arms.push((*at, 0, TimerKind::RunDeadline)),
                    Event::RunContinuedAsNew { next, .. } => plan.continued = Some(*next),
                    other => {
                        if let Some(o) = RunOutcome::from_event(other) {
                            plan.outcome = Some(o);
                        }
                    }
                }
            }
            if let Some(local) = &self.local
                && plan.outcome.is_none()
                && plan.continued.is_none()
            {
                let shared = self.journal.run_leases_expire();
                for task in &mut new_tasks {
                    let runnable = self.registry.activity(&task.activity).is_some();
                    if !runnable && !shared {
                        // Only this process uses the journal: no worker will
                        // ever run it. The call fails with a typed error
                        // once the command is journaled.
                        plan.unrunnable.push((task.seq, task.activity.clone()));
                    } else if !runnable && self.unrunnable.insert(task.activity.clone()) {
                        warn!(activity = %task.activity, "no worker in this process runs this activity; \
                            its tasks wait in the journal for a process that registers it");
                    }
                    // Tasks with an idempotency key go through a claim,
                    // which reuses a stored result instead of running.
                    if runnable && task.idempotency_key.is_none() && local.in_hand.load(Ordering::Relaxed) < local.limit
                    {
                        local.in_hand.fetch_add(1, Ordering::Relaxed);
                        task.lease_to_writer = Some(local.task_lease);
                        plan.local.push(task.clone());
                    }
                }
            }
            // A child's end is left for its parent in the same write.
            let child_report = match (&plan.outcome, live.core().parent) {
                (Some(outcome), Some(parent)) => {
                    Some(ChildReport { parent: parent.run, command: parent.command, outcome: outcome.clone() })
                }
                _ => None,
            };
            plan.report.clone_from(&child_report);
            writes.push(RunWrite {
                create: plan.create.clone(),
                append: RunAppend {
                    lease: live.lease.clone(),
                    events,
                    new_tasks,
                    resolved_tasks,
                    consumed_signals,
                    resolved_children,
                    child_report,
                },
            });
            plans.push(plan);
        }
        (writes, plans)
    }

    pub(super) fn release_local(&self, n: usize) {
        if let Some(local) = &self.local
            && n > 0
        {
            local.in_hand.fetch_sub(n, Ordering::Relaxed);
        }
    }
}
