//! Delivery: answers from outside reaching live runs — finished activity
//! tasks (from this process's workers or recorded by another process),
//! signals put in a mailbox, child outcomes, and due timers.
//!
//! Delivery only stages: it queues the answer in the run's inbox and
//! pumps the run (`step.rs`); what the run does in response is journaled
//! by the next commit. Work for a run another process serves is left in
//! the journal for that process.

use std::collections::BTreeSet;

use tracing::{debug, warn};

use super::Engine;

use super::run::Inbound;
use super::timers::TimerKind;
use crate::ids::RunId;
use crate::journal::{ActivityTask, AttemptResult, MailboxSignal, StoredResult, TaskOutcome};

/// How long a due timer whose run could not be loaded waits before the
/// next try.
const TIMER_RETRY: chrono::TimeDelta = chrono::TimeDelta::milliseconds(500);

impl Engine {
    /// An activity task finished (completed, or failed for good) and its
    /// outcome is recorded in the journal's task row. Commits.
    pub async fn on_task(&mut self, outcome: TaskOutcome) {
        self.stage_task(outcome).await;
        self.commit().await;
    }

    /// Stages the delivery of a finished task recorded in the journal.
    pub async fn stage_task(&mut self, outcome: TaskOutcome) {
        let run = outcome.run;
        if !self.serve(run).await {
            return;
        }
        if let Some(live) = self.live.get_mut(&run) {
            live.inbox.push_back(Inbound::Task(outcome));
        }
        self.pump(run);
    }

    /// Stages the result of an attempt this process's worker ran. A final
    /// one (completed, or failed with no retry left) for a run this engine
    /// serves is journaled by the run's next commit — the task's outcome,
    /// the run's reaction and its next commands in one write. Any other is
    /// handed back ([`take_handed_back`](Self::take_handed_back)): the
    /// caller records it on the task with [`Journal::finish_attempt`](crate::journal::Journal::finish_attempt), for
    /// the run's owner or the task's next attempt.
    pub async fn stage_attempt(&mut self, task: ActivityTask, result: AttemptResult) {
        let outcome = match &result {
            AttemptResult::Completed(output) => Ok(output.clone()),
            AttemptResult::Failed { error, retry_in: None } => Err(error.clone()),
            AttemptResult::Failed { .. } => {
                self.handed_back.push((task, result));
                return;
            }
        };
        let run = task.run;
        if !self.serve(run).await {
            debug!(run_id = %run, seq = task.seq, "attempt result for a run not served here; recorded on the task");
            self.handed_back.push((task, result));
            return;
        }
        // Exactly one result per idempotency key: the first stored wins,
        // and every run with the key journals that one — even if this
        // attempt produced another value.
        let (outcome, result) = match (outcome, &task.idempotency_key) {
            (Ok(output), Some(key)) => {
                let stored = StoredResult { activity: task.activity.clone(), key: key.clone(), output };
                match self.journal.store_result(stored).await {
                    Ok(winner) => (Ok(winner.clone()), AttemptResult::Completed(winner)),
                    Err(e) => {
                        // Recorded on the task instead, which stores it under
                        // the key the same way.
                        debug!(run_id = %run, seq = task.seq, error = %e, "storing an idempotent result failed");
                        self.handed_back.push((task, result));
                        return;
                    }
                }
            }
            (outcome, _) => (outcome, result),
        };
        if let Some(live) = self.live.get_mut(&run) {
            let outcome = TaskOutcome { run, seq: task.seq, attempts: task.attempt, result: outcome };
            live.inbox.push_back(Inbound::Task(outcome));
            live.attempts.push((task, result));
        }
        self.pump(run);
    }

    /// A signal was put in a run's mailbox. Commits.
    pub async fn on_signal(&mut self, run: RunId, signal: MailboxSignal) {
        self.stage_signal(run, signal).await;
        self.commit().await;
    }

    /// Stages the delivery of a signal put in a run's mailbox.
    pub async fn stage_signal(&mut self, run: RunId, signal: MailboxSignal) {
        let was_live = self.live.contains_key(&run);
        if !self.serve(run).await {
            return;
        }
        // On a journal other processes share, a signal sent earlier through
        // another process may not have reached this one yet (its hint
        // travels separately): read the mailbox up to this signal first,
        // so signals are consumed in the order they were sent.
        let earlier = if was_live && self.journal.run_leases_expire() {
            match self.journal.mailbox(run).await {
                Ok(mailbox) => mailbox.into_iter().filter(|s| s.id < signal.id).collect(),
                Err(e) => {
                    warn!(run_id = %run, error = %e, "reading the mailbox failed; delivering the signal alone");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        if was_live && let Some(live) = self.live.get_mut(&run) {
            // A freshly loaded run read its mailbox, this signal included.
            for s in earlier {
                live.offer_signal(s);
            }
            live.offer_signal(signal);
        }
        self.pump(run);
    }

    /// Stages work another process recorded for runs this engine serves
    /// (`None`: check every run served), after a [`Journal::run_wakeups`](crate::journal::Journal::run_wakeups)
    /// hint.
    pub async fn stage_wake(&mut self, runs: Option<Vec<RunId>>) {
        let runs = match runs {
            Some(runs) => runs.into_iter().filter(|r| self.owns(*r)).collect(),
            None => self.live.keys().chain(self.parked.keys()).copied().collect(),
        };
        self.take_pending_work(runs).await;
    }

    /// Stages the work waiting in the journal for parked runs that were
    /// told of it by this engine itself (a child served here ended).
    pub async fn stage_local_wakes(&mut self) {
        let runs = std::mem::take(&mut self.wake_soon);
        if !runs.is_empty() {
            self.take_pending_work(runs).await;
        }
    }

    /// Delivers work that reached the journal for `runs` without reaching
    /// this engine (see [`Journal::pending_work`]). Duplicates are
    /// harmless: a task outcome for a command no longer open is ignored,
    /// and a signal already in the run's mailbox is not added twice. A
    /// parked run with pending work is loaded, which reads all of it.
    /// Stages.
    pub(super) async fn take_pending_work(&mut self, runs: Vec<RunId>) {
        let runs: Vec<RunId> = runs
            .into_iter()
            .filter(|r| self.parked.contains_key(r) || self.live.get(r).is_some_and(|l| !l.terminal))
            .collect();
        if runs.is_empty() {
            return;
        }
        let pending = match self.journal.pending_work(&runs).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "looking for pending work failed; retrying at the next renewal");
                return;
            }
        };
        let mut touched = BTreeSet::new();
        let mut to_load = BTreeSet::new();
        for outcome in pending.tasks {
            if self.parked.contains_key(&outcome.run) {
                to_load.insert(outcome.run);
            } else if let Some(live) = self.live.get_mut(&outcome.run)
                && live.is_open(outcome.seq)
            {
                touched.insert(outcome.run);
                live.inbox.push_back(Inbound::Task(outcome));
            }
        }
        for report in pending.children {
            let run = report.parent;
            if self.parked.contains_key(&run) {
                to_load.insert(run);
            } else if let Some(live) = self.live.get_mut(&run)
                && live.is_open(report.command)
            {
                touched.insert(run);
                live.inbox.push_back(Inbound::Child(report.command, report.outcome));
            }
        }
        for (run, signal) in pending.signals {
            if self.parked.contains_key(&run) {
                to_load.insert(run);
            } else if let Some(live) = self.live.get_mut(&run)
                && live.offer_signal(signal)
            {
                touched.insert(run);
            }
        }
        for run in touched {
            debug!(run_id = %run, "delivering work another process recorded");
            self.pump(run);
        }
        for run in to_load {
            self.ensure_live(run).await;
        }
    }

    /// Fires every timer due by the clock. Commits.
    pub async fn fire_due_timers(&mut self) -> usize {
        let fired = self.stage_due_timers().await;
        self.commit().await;
        fired
    }

    /// Stages the firing of every timer due by the clock.
    pub async fn stage_due_timers(&mut self) -> usize {
        let now = self.clock.now();
        let due = self.timers.take_due(now);
        let fired = due.len();
        let mut expired = Vec::new();
        for (at, run, seq, kind) in due {
            if !self.ensure_live(run).await {
                // A run kept parked could not be loaded for a transient
                // reason: its timer stays armed and is tried again soon.
                // (Any other failure means the run is not ours to serve.)
                if self.parked.contains_key(&run) {
                    self.timers.arm(at.max(now) + TIMER_RETRY, run, seq, kind);
                }
                continue;
            }
            if let Some(live) = self.live.get_mut(&run) {
                live.inbox.push_back(match kind {
                    TimerKind::Timer => Inbound::TimerFired(seq),
                    TimerKind::SignalTimeout => Inbound::SignalTimedOut(seq),
                    TimerKind::RunDeadline => {
                        expired.push(run);
                        continue;
                    }
                });
            }
            self.pump(run);
        }
        for run in expired {
            self.expire(run).await;
        }
        fired
    }
}
