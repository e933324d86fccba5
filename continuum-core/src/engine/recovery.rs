//! Recovery and adoption: loading the runs a starting process should
//! serve, replaying a run from its history when it is not live (after a
//! crash, an eviction, or on another process), and reloading runs whose
//! last commit had an unknown outcome.
//!
//! A run is loaded only under a lease taken (or re-taken) here; a run
//! whose version another live process serves is left to it, and one that
//! drifts on a version it did not start on is suspended, never failed.

use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::Engine;
use super::run::{Inbound, LiveRun};
use super::timers::TimerKind;
use crate::error::{JournalError, RunFailure};
use crate::event::Event;
use crate::ids::{RunId, Seq};
use crate::workflow::context::core::OpenCommand;

/// How long a run suspended on a version drift is left alone before any
/// process may try it again.
const SUSPEND_BACKOFF: Duration = Duration::from_secs(30);

impl Engine {
    /// Loads the runs this engine should serve after a start: every
    /// unfinished run, or on a journal shared by several processes, those
    /// whose owner stopped renewing its lease.
    pub async fn recover(&mut self) -> Result<usize, JournalError> {
        self.refresh_versions().await?;
        let runs = if self.journal.run_leases_expire() {
            // Shared journal: only runs nobody serves. Runs of a crashed
            // process follow as their leases lapse (`maintain_leases`).
            let mut runs = Vec::new();
            loop {
                let batch = self.journal.claim_orphaned_runs(256, &self.servable()).await?;
                if batch.is_empty() {
                    break;
                }
                runs.extend(batch);
            }
            runs
        } else {
            self.journal.active_runs().await?
        };
        let mut loaded = 0;
        for run in runs {
            if self.ensure_live(run).await {
                loaded += 1;
            }
            if self.dirty.len() >= self.config.max_batch {
                self.commit().await;
            }
        }
        self.commit().await;
        Ok(loaded)
    }

    /// Whether this engine serves `run`: it holds it live or parked.
    pub fn owns(&self, run: RunId) -> bool {
        self.live.contains_key(&run) || self.parked.contains_key(&run)
    }

    /// Makes `run` live if this engine should act on work for it: it owns
    /// the run, or the journal is not shared by several processes (its
    /// leases never expire) and the run is taken over. Work for a run
    /// another process serves is left in the journal for that process.
    pub(super) async fn serve(&mut self, run: RunId) -> bool {
        if self.owns(run) || !self.journal.run_leases_expire() { self.ensure_live(run).await } else { false }
    }

    /// Makes `run` live, replaying it from the journal if needed. Returns
    /// false if the run cannot be served here (ended, unknown, fenced).
    pub(super) async fn ensure_live(&mut self, run: RunId) -> bool {
        self.tick += 1;
        if let Some(live) = self.live.get_mut(&run) {
            live.last_active = self.tick;
            return true;
        }
        // Shutting down: only runs this engine holds already.
        if self.draining && !self.parked.contains_key(&run) {
            return false;
        }
        match self.load(run).await {
            Ok(()) => true,
            Err(e) => {
                debug!(run_id = %run, error = %e, "run not loaded");
                false
            }
        }
    }

    pub(super) async fn load(&mut self, run: RunId) -> Result<(), JournalError> {
        let result = self.load_inner(run).await;
        // A transient failure keeps a parked run parked (its lease and
        // timers stay, it is loaded at its next work); any other means it
        // is not ours to serve.
        if let Err(e) = &result
            && !e.is_transient()
        {
            self.parked.remove(&run);
            self.timers.clear_run(run);
        }
        result
    }

    async fn load_inner(&mut self, run: RunId) -> Result<(), JournalError> {
        // Adopted in a batch: taken over and read already.
        let mut prefetched = self.prefetched.remove(&run);
        let info = match &prefetched {
            Some((loaded, _)) => loaded.info.clone(),
            None => self.journal.run_info(run).await?,
        };
        if info.status.is_terminal() {
            return Err(JournalError::RunTerminal { run, status: info.status });
        }
        // A run resumes on the version it started on. Without it here: if
        // another live process has it, the run is left for that process;
        // if none has it, it replays on the current version (patch checks
        // keep it on its old path; a drift suspends it, below).
        let unavailable =
            || JournalError::VersionUnavailable { run, workflow: info.workflow.clone(), version: info.version };
        let (workflow, exact) = match self.registry.workflow_version(&info.workflow, info.version) {
            Some(w) => (w.clone(), true),
            None if self.elsewhere.contains(&(info.workflow.clone(), info.version)) => {
                info!(run_id = %run, workflow = %info.workflow, version = %info.version,
                    "another process serves the version this run started on; leaving the run to it");
                if let Some(kept) = self.parked.get(&run).cloned() {
                    let _ = self.journal.release_run(&kept, std::time::Duration::ZERO).await;
                }
                return Err(unavailable());
            }
            None => match self.registry.workflow(&info.workflow) {
                Some(w) => {
                    warn!(run_id = %run, workflow = w.name, started_on = %info.version, current = %w.version,
                        "no live process has the version this run started on; replaying it on the current version");
                    (w.clone(), false)
                }
                None => {
                    // Left untouched for a runtime that has the workflow.
                    warn!(run_id = %run, workflow = %info.workflow, "run's workflow is not registered here; leaving it");
                    return Err(JournalError::Backend(format!("workflow `{}` is not registered", info.workflow)));
                }
            },
        };
        // A run kept parked is ours only if our lease still holds: another
        // process may have adopted it while our renewals failed.
        let lease = match (prefetched.as_ref().map(|(l, _)| l.lease.clone()), self.parked.get(&run)) {
            (Some(lease), _) => lease,
            (None, Some(kept)) => {
                let lease = self.journal.reacquire_run(kept).await?;
                // Kept parked under the new lease if a read below fails:
                // the next try re-takes this one, not the one it replaced.
                self.parked.insert(run, lease.clone());
                lease
            }
            (None, None) => self.journal.acquire_run(run).await?,
        };
        let read = match &mut prefetched {
            Some((loaded, _)) => std::mem::replace(&mut loaded.history, Ok(Arc::from(Vec::new()))),
            None => self.journal.history(run).await,
        };
        let history = match read {
            Ok(history) => history,
            Err(JournalError::CorruptEvent { run, seq, detail }) => {
                // The history cannot be replayed: fail the run, naming the
                // event, rather than leave it stuck. Other runs go on.
                let failure = RunFailure::undecodable_event(run, seq, detail.clone());
                error!(run_id = %run, workflow = workflow.name, seq, %detail, "stored history does not decode; failing the run");
                self.end_unheld(lease, Event::RunFailed { failure }).await?;
                return Err(JournalError::CorruptEvent { run, seq, detail });
            }
            Err(e) => return Err(e),
        };
        // Everything read before anything is armed: a failed read leaves
        // no timer behind.
        let pending = match prefetched {
            Some((_, pending)) => pending,
            None => self.journal.pending_work(&[run]).await?,
        };
        let now = self.clock.now();
        self.stats.runs_replayed += 1;
        self.stats.events_replayed += history.len() as u64;
        info!(run_id = %run, workflow = workflow.name, events = history.len(), "replaying run");
        let name = workflow.name;
        let (mut live, failure) = LiveRun::new(workflow, run, history, lease.clone(), now, self.limits());
        live.workflow_id.clone_from(&info.workflow_id);
        let ended = match failure {
            Some(f) => Some(live.fail(f)),
            None => live.replay(now),
        };
        if !exact && let Some(Event::RunFailed { failure: RunFailure::Drift { drift } }) = &ended {
            // Not this code's run: suspend it rather than fail it, so the
            // right version (or a patched one) can resume it later.
            error!(run_id = %run, workflow = name, started_on = %info.version, %drift,
                "replaying the run on another version drifted; the run is suspended, not failed — \
                 register the version it started on (workflow_version) or patch the code");
            let _ = self.journal.release_run(&lease, SUSPEND_BACKOFF).await;
            self.parked.remove(&run);
            return Err(unavailable());
        }
        // Timers of the run are re-armed from its history.
        self.timers.clear_run(run);
        if ended.is_none() {
            let open: Vec<(Seq, OpenCommand)> = live.core().open.iter().map(|(s, c)| (*s, c.clone())).collect();
            for (seq, command) in open {
                match command {
                    OpenCommand::Timer { fire_at } => self.timers.arm(fire_at, run, seq, TimerKind::Timer),
                    OpenCommand::Signal { timeout_at: Some(at), .. } => {
                        self.timers.arm(at, run, seq, TimerKind::SignalTimeout);
                    }
                    OpenCommand::Signal { timeout_at: None, .. }
                    | OpenCommand::Activity
                    | OpenCommand::Compensation
                    | OpenCommand::Child => {}
                }
            }
            if let Some(at) = live.deadline {
                self.timers.arm(at, run, 0, TimerKind::RunDeadline);
            }
            for (_, signal) in pending.signals {
                live.offer_signal(signal);
            }
            for outcome in pending.tasks {
                live.inbox.push_back(Inbound::Task(outcome));
            }
            for report in pending.children {
                live.inbox.push_back(Inbound::Child(report.command, report.outcome));
            }
        }
        self.insert_live(live);
        self.pump(run);
        Ok(())
    }

    /// Reloads the runs whose last commit failed with an unknown outcome;
    /// those the journal cannot serve yet stay queued. Stages.
    pub async fn reload_runs(&mut self) {
        for run in std::mem::take(&mut self.reload) {
            if self.live.contains_key(&run) || self.committing.contains(&run) {
                // Loaded again meanwhile (by its next work, or adopted).
                continue;
            }
            match self.load(run).await {
                Ok(()) => info!(run_id = %run, "run reloaded after a failed commit"),
                Err(e) if e.is_transient() => {
                    debug!(run_id = %run, error = %e, "reload failed; retrying");
                    self.reload.insert(run);
                }
                Err(e) => debug!(run_id = %run, error = %e, "run not reloaded"),
            }
        }
    }
}
