//! The engine: owns live runs, delivers resolutions one at a time, polls,
//! and commits each step to the journal before acting on it.
//!
//! A live run's future stays in memory between wakes, so the hot path never
//! replays; a run is replayed from its history only when it is not live
//! (after a crash, an eviction, or on another process). Effects are acted
//! on (activity tasks handed to workers, timers armed, mailbox signals
//! consumed) only after the events that ask for them are journaled.
//!
//! The engine is driven by a runtime (the tokio [`Runtime`](crate::Runtime))
//! or by the testkit, which drives it synchronously.

pub(crate) mod run;
pub(crate) mod timers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use self::run::{Inbound, LiveRun};
use self::timers::{TimerKind, TimerWheel};
use crate::clock::Clock;
use crate::context::core::{OpenCommand, ResolutionKind};
use crate::error::{CancelError, JournalError, RunFailure, StartError};
use crate::event::{Event, HistoryEvent};
use crate::ids::{RunId, Seq};
use crate::journal::{Journal, Lease, MailboxSignal, NewRun, RunAppend, RunStatus, TaskOutcome};
use crate::payload::Payload;
use crate::registry::Registry;
use crate::workflow::ErasedWorkflow;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// The workflow returned `Ok` with this encoded output.
    Completed(Payload),
    /// The run failed.
    Failed(RunFailure),
    /// The run was cancelled.
    Cancelled(Option<String>),
}

impl RunOutcome {
    /// The outcome a terminal event records.
    pub fn from_event(event: &Event) -> Option<Self> {
        match event {
            Event::RunCompleted { output } => Some(Self::Completed(output.clone())),
            Event::RunFailed { failure } => Some(Self::Failed(failure.clone())),
            Event::RunCancelled { reason } => Some(Self::Cancelled(reason.clone())),
            _ => None,
        }
    }
}

/// How an offline replay of a history ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// The code reached the same end the history records (or, for a
    /// history without an end, ended after its last event).
    Ended(RunOutcome),
    /// The history ends while the code waits; `open` lists what it waits
    /// on (seq of each open command).
    Waiting {
        /// Seqs of commands issued and not yet resolved.
        open: Vec<Seq>,
    },
}

/// Replays `history` through `workflow`'s code without a journal — for
/// golden-history tests and paranoid re-replays. Fails with the run's
/// failure if the code and the history disagree ([`RunFailure::Drift`]) or
/// a payload does not decode. A history that ended in a failure replays
/// cleanly only if the code fails the same way.
pub fn replay_history(
    workflow: &ErasedWorkflow,
    run: RunId,
    history: Arc<[HistoryEvent]>,
) -> Result<Replayed, RunFailure> {
    let Some(first) = history.first() else {
        return Err(RunFailure::SuspendLeak { detail: "empty history".into() });
    };
    let now = history.last().map_or(first.at, |e| e.at);
    let recorded_end = history.last().and_then(|e| RunOutcome::from_event(&e.event));
    let lease = crate::journal::Lease { run, token: 0 };
    let (mut live, failure) = LiveRun::new(workflow.clone(), run, history, lease, now, DEFAULT_MAX_PAYLOAD);
    if let Some(f) = failure {
        return Err(f);
    }
    match live.replay(now) {
        None => Ok(Replayed::Waiting { open: live.core().open.keys().copied().collect() }),
        Some(end) => {
            let outcome = RunOutcome::from_event(&end).unwrap_or(RunOutcome::Cancelled(None));
            match (&outcome, &recorded_end) {
                (RunOutcome::Failed(f @ RunFailure::Drift { .. } | f @ RunFailure::HistoryDecode { .. }), _) => {
                    Err(f.clone())
                }
                (_, None) => Ok(Replayed::Ended(outcome)),
                (got, Some(want)) if got == want => Ok(Replayed::Ended(outcome)),
                (RunOutcome::Failed(f), Some(_)) => Err(f.clone()),
                (_, Some(_)) => Err(RunFailure::SuspendLeak {
                    detail: format!("replay ended as {outcome:?}, history recorded {recorded_end:?}"),
                }),
            }
        }
    }
}

/// Terminal outcomes published to waiters.
#[derive(Default)]
pub(crate) struct Outcomes {
    waiting: Mutex<HashMap<RunId, watch::Sender<Option<RunOutcome>>>>,
}

impl Outcomes {
    pub(crate) fn subscribe(&self, run: RunId) -> watch::Receiver<Option<RunOutcome>> {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        w.entry(run).or_insert_with(|| watch::channel(None).0).subscribe()
    }

    fn publish(&self, run: RunId, outcome: RunOutcome) {
        let sender = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&run);
        if let Some(sender) = sender {
            sender.send_replace(Some(outcome));
        }
    }

    pub(crate) fn forget(&self, run: RunId) {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if w.get(&run).is_some_and(|s| s.receiver_count() == 0) {
            w.remove(&run);
        }
    }
}

/// Counters that show where the engine's work goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Runs rebuilt by replaying their history.
    pub runs_replayed: u64,
    /// History events consumed by those replays.
    pub events_replayed: u64,
    /// Journal appends.
    pub appends: u64,
    /// Runs evicted from memory to respect the live-run bound.
    pub evictions: u64,
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Live runs kept in memory; beyond it the least recently active are
    /// evicted and replayed when next needed.
    pub max_live_runs: usize,
    /// How often the runtime renews the leases of its live runs and looks
    /// for runs orphaned by a crashed process. Keep it well under the
    /// journal's run-lease TTL (30 s for PostgreSQL by default).
    pub lease_renewal: std::time::Duration,
    /// The largest payload (workflow input, signal body, activity input)
    /// accepted, in bytes of JSON. Larger ones are refused where they are
    /// made — `start` and `signal` return a typed error, an activity call
    /// returns an `ActivityError` of kind `Payload` to the workflow — and
    /// nothing is journaled. Keep it stable: a run replayed under a smaller
    /// cap than it ran with can drift.
    pub max_payload_bytes: usize,
}

/// The default [`EngineConfig::max_payload_bytes`]: 8 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 8 * 1024 * 1024;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_live_runs: 10_000,
            lease_renewal: std::time::Duration::from_secs(5),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
        }
    }
}

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
}

/// The engine. See the module docs.
pub struct Engine {
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    live: HashMap<RunId, LiveRun>,
    timers: TimerWheel,
    outcomes: Arc<Outcomes>,
    config: EngineConfig,
    tick: u64,
    stats: EngineStats,
}

impl Engine {
    /// An engine over `journal`.
    pub fn new(
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
        registry: Arc<Registry>,
        config: EngineConfig,
    ) -> Self {
        Self {
            journal,
            clock,
            registry,
            live: HashMap::new(),
            timers: TimerWheel::default(),
            outcomes: Arc::new(Outcomes::default()),
            config,
            tick: 0,
            stats: EngineStats::default(),
        }
    }

    pub(crate) fn outcomes(&self) -> Arc<Outcomes> {
        self.outcomes.clone()
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Counters since the engine started.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Runs currently held in memory.
    pub fn live_runs(&self) -> usize {
        self.live.len()
    }

    /// When the earliest armed timer is due.
    pub fn next_timer_due(&self) -> Option<DateTime<Utc>> {
        self.timers.next_due()
    }

    /// Armed timers.
    pub fn armed_timers(&self) -> usize {
        self.timers.len()
    }

    /// Starts a run: journals it (already leased to this engine), then
    /// runs it to its first wait.
    pub async fn start(&mut self, req: StartRequest) -> Result<RunId, StartError> {
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
        let workflow_id = req.workflow_id.unwrap_or_else(|| id.to_string());
        let new = NewRun {
            id,
            workflow_id,
            workflow: workflow.name.to_owned(),
            version: workflow.version,
            input: req.input.clone(),
        };
        let lease = self.journal.create_run(new).await.map_err(|e| match e {
            JournalError::DuplicateWorkflowId { workflow_id, existing } => {
                StartError::DuplicateWorkflowId { workflow_id, existing }
            }
            other => StartError::Journal(other),
        })?;
        let now = self.clock.now();
        info!(run_id = %id, workflow = workflow.name, "run started");
        let started = HistoryEvent {
            seq: 1,
            at: now,
            event: Event::RunStarted {
                workflow: workflow.name.to_owned(),
                version: workflow.version,
                input: req.input,
            },
        };
        let (mut live, failure) =
            LiveRun::new(workflow, id, Arc::from(vec![started]), lease, now, self.config.max_payload_bytes);
        match failure {
            Some(f) => {
                live.fail(f);
            }
            None => {
                live.poll_live(now);
            }
        }
        self.insert_live(live);
        self.pump(id);
        self.flush(id).await;
        self.evict_if_needed();
        Ok(id)
    }

    /// Loads the runs this engine should serve after a start: every
    /// unfinished run, or on a journal shared by several processes, those
    /// whose owner stopped renewing its lease.
    pub async fn recover(&mut self) -> Result<usize, JournalError> {
        let runs = if self.journal.run_leases_expire() {
            // Shared journal: only runs nobody serves. Runs of a crashed
            // process follow as their leases lapse (`maintain_leases`).
            let mut runs = Vec::new();
            loop {
                let batch = self.journal.claim_orphaned_runs(256).await?;
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
                self.flush(run).await;
            }
        }
        self.evict_if_needed();
        Ok(loaded)
    }

    /// An activity task finished (completed, or failed for good).
    pub async fn on_task(&mut self, outcome: TaskOutcome) {
        let run = outcome.run;
        if !self.ensure_live(run).await {
            return;
        }
        if let Some(live) = self.live.get_mut(&run) {
            live.inbox.push_back(Inbound::Task(outcome));
        }
        self.pump(run);
        self.flush(run).await;
        self.evict_if_needed();
    }

    /// A signal was put in a run's mailbox.
    pub async fn on_signal(&mut self, run: RunId, signal: MailboxSignal) {
        let was_live = self.live.contains_key(&run);
        if !self.ensure_live(run).await {
            return;
        }
        if was_live && let Some(live) = self.live.get_mut(&run) {
            // A freshly loaded run read its mailbox, this signal included.
            live.offer_signal(signal);
        }
        self.pump(run);
        self.flush(run).await;
        self.evict_if_needed();
    }

    /// Renews the leases of live runs (dropping those another process took
    /// over) and adopts runs whose owner died. Called periodically by the
    /// runtime.
    pub async fn maintain_leases(&mut self) {
        let leases: Vec<Lease> = self.live.values().filter(|l| !l.terminal).map(|l| l.lease.clone()).collect();
        match self.journal.renew_run_leases(&leases).await {
            Ok(lost) => {
                for run in lost {
                    // Routine when processes share runs: whoever receives a
                    // run's work takes it over.
                    info!(run_id = %run, "run lease taken over by another process; dropping the live run");
                    self.live.remove(&run);
                    self.timers.clear_run(run);
                }
            }
            Err(e) => warn!(error = %e, "renewing run leases failed; retrying at the next renewal"),
        }
        self.take_pending_work().await;
        match self.journal.claim_orphaned_runs(64).await {
            Ok(runs) => {
                for run in runs {
                    info!(run_id = %run, "adopting a run whose owner stopped renewing its lease");
                    if self.ensure_live(run).await {
                        self.flush(run).await;
                    }
                }
            }
            Err(e) => warn!(error = %e, "looking for orphaned runs failed; retrying at the next renewal"),
        }
        self.evict_if_needed();
    }

    /// Delivers work that reached the journal for live runs without
    /// reaching this engine (see [`Journal::pending_work`]). Duplicates are
    /// harmless: a task outcome for a command no longer open is ignored,
    /// and a signal already in the run's mailbox is not added twice.
    async fn take_pending_work(&mut self) {
        let runs: Vec<RunId> = self.live.values().filter(|l| !l.terminal).map(|l| l.run).collect();
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
        let mut touched = std::collections::BTreeSet::new();
        for outcome in pending.tasks {
            if let Some(live) = self.live.get_mut(&outcome.run)
                && live.is_open(outcome.seq)
            {
                touched.insert(outcome.run);
                live.inbox.push_back(Inbound::Task(outcome));
            }
        }
        for (run, signal) in pending.signals {
            if let Some(live) = self.live.get_mut(&run)
                && live.offer_signal(signal)
            {
                touched.insert(run);
            }
        }
        for run in touched {
            debug!(run_id = %run, "delivering work another process recorded");
            self.pump(run);
            self.flush(run).await;
        }
    }

    /// Fires every timer due by the clock.
    pub async fn fire_due_timers(&mut self) -> usize {
        let due = self.timers.take_due(self.clock.now());
        let fired = due.len();
        for (run, seq, kind) in due {
            if !self.ensure_live(run).await {
                continue;
            }
            if let Some(live) = self.live.get_mut(&run) {
                live.inbox.push_back(match kind {
                    TimerKind::Timer => Inbound::TimerFired(seq),
                    TimerKind::SignalTimeout => Inbound::SignalTimedOut(seq),
                });
            }
            self.pump(run);
            self.flush(run).await;
        }
        self.evict_if_needed();
        fired
    }

    /// Cancels a run: journals `RunCancelled`, drops its future and its
    /// timers. Nothing is appended to the run afterwards.
    pub async fn cancel(&mut self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        let info = self.journal.run_info(run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => CancelError::RunNotFound(r),
            other => CancelError::Journal(other),
        })?;
        if info.status.is_terminal() {
            return Err(CancelError::RunTerminal { run, status: info.status });
        }
        let event = Event::RunCancelled { reason: reason.clone() };
        if let Some(mut live) = self.live.remove(&run) {
            let now = self.clock.now();
            live.cancel(event, now);
            self.live.insert(run, live);
            self.flush(run).await;
        } else {
            let lease = self.journal.acquire_run(run).await.map_err(|e| match e {
                JournalError::RunTerminal { run, status } => CancelError::RunTerminal { run, status },
                other => CancelError::Journal(other),
            })?;
            let info = self.journal.run_info(run).await.map_err(CancelError::Journal)?;
            let append = RunAppend {
                lease,
                events: vec![HistoryEvent { seq: info.last_seq + 1, at: self.clock.now(), event: event.clone() }],
                new_tasks: vec![],
                resolved_tasks: vec![],
                consumed_signals: vec![],
            };
            self.journal.append(append).await.map_err(CancelError::Journal)?;
            self.timers.clear_run(run);
            self.outcomes.publish(run, RunOutcome::Cancelled(reason));
        }
        info!(run_id = %run, workflow = %info.workflow, "run cancelled");
        match self.journal.run_info(run).await {
            Ok(i) if i.status == RunStatus::Cancelled => Ok(()),
            Ok(i) => Err(CancelError::RunTerminal { run, status: i.status }),
            Err(e) => Err(CancelError::Journal(e)),
        }
    }

    fn insert_live(&mut self, mut live: LiveRun) {
        self.tick += 1;
        live.last_active = self.tick;
        self.live.insert(live.run, live);
    }

    /// Makes `run` live, replaying it from the journal if needed. Returns
    /// false if the run cannot be served here (ended, unknown, fenced).
    async fn ensure_live(&mut self, run: RunId) -> bool {
        self.tick += 1;
        if let Some(live) = self.live.get_mut(&run) {
            live.last_active = self.tick;
            return true;
        }
        match self.load(run).await {
            Ok(()) => true,
            Err(e) => {
                debug!(run_id = %run, error = %e, "run not loaded");
                false
            }
        }
    }

    async fn load(&mut self, run: RunId) -> Result<(), JournalError> {
        let info = self.journal.run_info(run).await?;
        if info.status.is_terminal() {
            return Err(JournalError::RunTerminal { run, status: info.status });
        }
        let Some(workflow) = self.registry.workflow(&info.workflow).cloned() else {
            // Left untouched for a runtime that has the workflow.
            warn!(run_id = %run, workflow = %info.workflow, "run's workflow is not registered here; leaving it");
            return Err(JournalError::Backend(format!("workflow `{}` is not registered", info.workflow)));
        };
        if workflow.version != info.version {
            warn!(run_id = %run, workflow = workflow.name, started_on = %info.version, registered = %workflow.version,
                "run started on another version of its workflow; replay checks every command");
        }
        let lease = self.journal.acquire_run(run).await?;
        let history = match self.journal.history(run).await {
            Ok(history) => history,
            Err(JournalError::CorruptEvent { run, seq, detail }) => {
                // The history cannot be replayed: fail the run, naming the
                // event, rather than leave it stuck. Other runs go on.
                let failure = RunFailure::undecodable_event(run, seq, detail.clone());
                error!(run_id = %run, workflow = workflow.name, seq, %detail, "stored history does not decode; failing the run");
                let append = RunAppend {
                    lease,
                    events: vec![HistoryEvent {
                        seq: info.last_seq + 1,
                        at: self.clock.now(),
                        event: Event::RunFailed { failure: failure.clone() },
                    }],
                    new_tasks: vec![],
                    resolved_tasks: vec![],
                    consumed_signals: vec![],
                };
                self.journal.append(append).await?;
                self.timers.clear_run(run);
                self.outcomes.publish(run, RunOutcome::Failed(failure));
                return Err(JournalError::CorruptEvent { run, seq, detail });
            }
            Err(e) => return Err(e),
        };
        let now = self.clock.now();
        self.stats.runs_replayed += 1;
        self.stats.events_replayed += history.len() as u64;
        info!(run_id = %run, workflow = workflow.name, events = history.len(), "replaying run");
        let (mut live, failure) = LiveRun::new(workflow, run, history, lease, now, self.config.max_payload_bytes);
        let ended = match failure {
            Some(f) => Some(live.fail(f)),
            None => live.replay(now),
        };
        if ended.is_none() {
            let open: Vec<(Seq, OpenCommand)> = live.core().open.iter().map(|(s, c)| (*s, c.clone())).collect();
            for (seq, command) in open {
                match command {
                    OpenCommand::Timer { fire_at } => self.timers.arm(fire_at, run, seq, TimerKind::Timer),
                    OpenCommand::Signal { timeout_at: Some(at), .. } => {
                        self.timers.arm(at, run, seq, TimerKind::SignalTimeout);
                    }
                    OpenCommand::Signal { timeout_at: None, .. } | OpenCommand::Activity => {}
                }
            }
            for signal in self.journal.mailbox(run).await? {
                live.offer_signal(signal);
            }
            for outcome in self.journal.finished_tasks(run).await? {
                live.inbox.push_back(Inbound::Task(outcome));
            }
        }
        self.insert_live(live);
        self.pump(run);
        Ok(())
    }

    /// Delivers everything the run can take now, one resolution per poll,
    /// so the history records the order the workflow observed.
    fn pump(&mut self, run: RunId) {
        let now = self.clock.now();
        let Some(live) = self.live.get_mut(&run) else { return };
        while !live.terminal {
            if let Some(inbound) = live.inbox.pop_front() {
                match inbound {
                    Inbound::Task(outcome) => {
                        live.resolved_tasks.push(outcome.seq);
                        if !live.is_open(outcome.seq) {
                            continue;
                        }
                        let (event, kind) = match outcome.result {
                            Ok(output) => (
                                Event::ActivityCompleted {
                                    scheduled: outcome.seq,
                                    attempts: outcome.attempts,
                                    output: output.clone(),
                                },
                                ResolutionKind::Activity(Ok(output)),
                            ),
                            Err(error) => (
                                Event::ActivityFailed {
                                    scheduled: outcome.seq,
                                    attempts: outcome.attempts,
                                    error: error.clone(),
                                },
                                ResolutionKind::Activity(Err(error)),
                            ),
                        };
                        live.deliver(outcome.seq, event, kind, now);
                    }
                    Inbound::TimerFired(seq) => {
                        if live.is_open(seq) {
                            live.deliver(seq, Event::TimerFired { started: seq }, ResolutionKind::TimerFired, now);
                        }
                    }
                    Inbound::SignalTimedOut(seq) => {
                        if live.is_open(seq) {
                            live.deliver(
                                seq,
                                Event::SignalTimedOut { awaited: seq },
                                ResolutionKind::Signal(None),
                                now,
                            );
                        }
                    }
                }
                continue;
            }
            // Oldest open wait first; within a name, oldest signal first.
            let matched = {
                let core = live.core();
                core.open.iter().find_map(|(seq, command)| match command {
                    OpenCommand::Signal { name, .. } => {
                        live.mailbox.iter().position(|s| &s.name == name).map(|i| (*seq, i))
                    }
                    _ => None,
                })
            };
            let Some((seq, index)) = matched else { break };
            let Some(signal) = live.mailbox.remove(index) else { break };
            live.consumed_signals.push(signal.id);
            let payload = signal.payload;
            live.deliver(
                seq,
                Event::SignalReceived { awaited: seq, payload: payload.clone() },
                ResolutionKind::Signal(Some(payload)),
                now,
            );
        }
    }

    /// Commits what the run produced since the last flush, then acts on it.
    async fn flush(&mut self, run: RunId) {
        let Some(live) = self.live.get_mut(&run) else { return };
        let (events, new_tasks) = {
            let mut core = live.core();
            (std::mem::take(&mut core.outbox), std::mem::take(&mut core.new_tasks))
        };
        let resolved_tasks = std::mem::take(&mut live.resolved_tasks);
        let consumed_signals = std::mem::take(&mut live.consumed_signals);
        if events.is_empty() && resolved_tasks.is_empty() && consumed_signals.is_empty() {
            return;
        }
        let workflow = live.workflow.name;
        let mut arms = Vec::new();
        let mut outcome = None;
        for ev in &events {
            debug!(run_id = %run, workflow, seq = ev.seq, event = ev.event.type_name(), "journaling event");
            match &ev.event {
                Event::TimerStarted { fire_at, .. } => arms.push((*fire_at, ev.seq, TimerKind::Timer)),
                Event::SignalAwaited { timeout_at: Some(at), .. } => arms.push((*at, ev.seq, TimerKind::SignalTimeout)),
                other => {
                    if let Some(o) = RunOutcome::from_event(other) {
                        outcome = Some(o);
                    }
                }
            }
        }
        let append = RunAppend { lease: live.lease.clone(), events, new_tasks, resolved_tasks, consumed_signals };
        self.stats.appends += 1;
        match self.journal.append(append).await {
            Ok(()) => {
                for (at, seq, kind) in arms {
                    self.timers.arm(at, run, seq, kind);
                }
                if let Some(outcome) = outcome {
                    match &outcome {
                        RunOutcome::Completed(_) => info!(run_id = %run, workflow, "run completed"),
                        RunOutcome::Failed(failure) => warn!(run_id = %run, workflow, %failure, "run failed"),
                        RunOutcome::Cancelled(_) => info!(run_id = %run, workflow, "run cancelled"),
                    }
                    self.live.remove(&run);
                    self.timers.clear_run(run);
                    self.outcomes.publish(run, outcome);
                }
            }
            Err(error) => {
                // Fenced or conflicting: another engine owns the run now.
                // Drop our copy; nothing of it was applied.
                warn!(run_id = %run, workflow, %error, "journal append rejected; dropping the live run");
                self.live.remove(&run);
                self.timers.clear_run(run);
            }
        }
    }

    fn evict_if_needed(&mut self) {
        let max = self.config.max_live_runs.max(1);
        if self.live.len() <= max {
            return;
        }
        let mut by_age: Vec<(u64, RunId)> = self.live.values().map(|l| (l.last_active, l.run)).collect();
        by_age.sort_unstable();
        let excess = self.live.len() - max;
        for (_, run) in by_age.into_iter().take(excess) {
            // Timers stay armed: when one fires the run is replayed.
            self.live.remove(&run);
            self.outcomes.forget(run);
            self.stats.evictions += 1;
            debug!(run_id = %run, "live run evicted");
        }
    }
}
