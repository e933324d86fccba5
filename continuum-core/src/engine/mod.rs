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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use self::run::{Inbound, Limits, LiveRun};
use self::timers::{TimerKind, TimerWheel};
use crate::clock::Clock;
use crate::context::core::{NewChild, OpenCommand, ResolutionKind};
use crate::error::{CancelError, JournalError, RunFailure, StartError};
use crate::event::{Event, HistoryEvent, ParentRef};
use crate::ids::{RunId, Seq};
use crate::journal::{
    ActivityTask, AttemptResult, ChildReport, CreateRun, Journal, Lease, MailboxSignal, NewActivityTask, RunAppend,
    RunStatus, RunWrite, Servable, StoredResult, TaskOutcome, Written,
};
use crate::payload::Payload;
use crate::registry::Registry;
use crate::workflow::ErasedWorkflow;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The code continued as new where the history did, with the same
    /// input.
    Continued {
        /// The successor's input.
        input: Payload,
        /// The successor run the history names.
        next: RunId,
    },
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
    let (mut live, failure) = LiveRun::new(workflow.clone(), run, history, lease, now, Limits::DEFAULT);
    if let Some(f) = failure {
        return Err(f);
    }
    match live.replay(now) {
        None => Ok(Replayed::Waiting { open: live.core().open.keys().copied().collect() }),
        Some(Event::RunContinuedAsNew { input, next }) => match live.continued.take() {
            // Continued past the history's end: the successor is new.
            Some((next, input)) if recorded_end.is_none() => Ok(Replayed::Continued { input, next }),
            Some(_) => Err(RunFailure::SuspendLeak {
                detail: format!("replay continued as new, history recorded {recorded_end:?}"),
            }),
            None => Ok(Replayed::Continued { input, next }),
        },
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
    /// Per run, the channels of those waiting on it: one of its own, plus
    /// those forwarded from the runs it continues.
    waiting: Mutex<HashMap<RunId, Vec<watch::Sender<Option<RunOutcome>>>>>,
}

impl Outcomes {
    pub(crate) fn subscribe(&self, run: RunId) -> watch::Receiver<Option<RunOutcome>> {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let senders = w.entry(run).or_default();
        match senders.first() {
            Some(sender) => sender.subscribe(),
            None => {
                let (sender, receiver) = watch::channel(None);
                senders.push(sender);
                receiver
            }
        }
    }

    /// Runs someone is waiting on.
    pub(crate) fn awaited(&self) -> Vec<RunId> {
        let w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        w.iter().filter(|(_, s)| s.iter().any(|s| s.receiver_count() > 0)).map(|(r, _)| *r).collect()
    }

    pub(crate) fn publish(&self, run: RunId, outcome: RunOutcome) {
        let senders = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&run);
        for sender in senders.into_iter().flatten() {
            sender.send_replace(Some(outcome.clone()));
        }
    }

    /// `run` continued as `next`: those waiting on it wait on `next` now.
    pub(crate) fn forward(&self, run: RunId, next: RunId) {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(senders) = w.remove(&run) {
            w.entry(next).or_default().extend(senders);
        }
    }

    pub(crate) fn forget(&self, run: RunId) {
        let mut w = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if w.get(&run).is_some_and(|s| s.iter().all(|s| s.receiver_count() == 0)) {
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
    /// Run writes (one run's events and side effects) journaled.
    pub appends: u64,
    /// Journal commits; each carries the writes of many runs.
    pub commits: u64,
    /// Runs evicted from memory to respect the live-run bound.
    pub evictions: u64,
}

/// Engine settings.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Live runs kept in memory; beyond it the least recently active are
    /// evicted (the engine keeps their leases) and replayed when next
    /// needed.
    pub max_live_runs: usize,
    /// How often the runtime renews the leases of its runs and looks for
    /// runs orphaned by a crashed process. Keep it well under the
    /// journal's run-lease TTL (30 s for PostgreSQL by default).
    pub lease_renewal: std::time::Duration,
    /// The largest payload (workflow input, signal body, activity input)
    /// accepted, in bytes of JSON. Larger ones are refused where they are
    /// made — `start` and `signal` return a typed error, an activity call
    /// returns an `ActivityError` of kind `Payload` to the workflow — and
    /// nothing is journaled. Keep it stable: a run replayed under a smaller
    /// cap than it ran with can drift.
    pub max_payload_bytes: usize,
    /// The most runs' writes one journal commit carries. Work that arrives
    /// while commits are in flight is gathered into the next one (group
    /// commit), up to this many runs.
    pub max_batch: usize,
    /// Journal commits in flight at once (each on its own database
    /// connection). A run is in at most one of them.
    pub max_in_flight: usize,
    /// How deep child runs may nest: a run that would start a child
    /// deeper than this fails (checked when the child would be created,
    /// so the cancel cascade always reaches every descendant).
    pub max_child_depth: u32,
}

/// How long a run suspended on a version drift is left alone before any
/// process may try it again.
const SUSPEND_BACKOFF: std::time::Duration = std::time::Duration::from_secs(30);

/// The default [`EngineConfig::max_child_depth`].
pub const DEFAULT_MAX_CHILD_DEPTH: u32 = 10;

/// The default [`EngineConfig::max_payload_bytes`]: 8 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 8 * 1024 * 1024;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_live_runs: 10_000,
            lease_renewal: std::time::Duration::from_secs(5),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD,
            max_batch: 512,
            max_in_flight: 2,
            max_child_depth: DEFAULT_MAX_CHILD_DEPTH,
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

/// Activity tasks the engine may lease to its own process's workers as it
/// journals them, so a task needs no claim: the engine hands it over right
/// after the commit (see [`Engine::take_dispatch`]).
#[derive(Debug, Clone)]
pub struct LocalDispatch {
    /// Tasks handed to the local workers and not yet finished; the engine
    /// adds, the workers subtract.
    pub in_hand: Arc<AtomicUsize>,
    /// Above this many tasks in hand, new tasks are left for any worker
    /// to claim.
    pub limit: usize,
    /// The lease a task is inserted with (the workers renew it).
    pub task_lease: std::time::Duration,
}

/// One run's write in a commit, and what to do once it is applied.
struct Plan {
    run: RunId,
    create: Option<String>,
    arms: Vec<(DateTime<Utc>, Seq, TimerKind)>,
    outcome: Option<RunOutcome>,
    /// Tasks asked to be leased to this process.
    local: Vec<NewActivityTask>,
    /// The lease token the write presented (0 for a new run): the result
    /// concerns the live run only if it still holds this token.
    presented: u64,
    /// A child's end, left for its parent.
    report: Option<ChildReport>,
    /// This process's attempt results the write journals.
    attempts: Vec<(ActivityTask, AttemptResult)>,
    /// The successor, if the write ends the run by continuing it.
    continued: Option<RunId>,
    /// Whether a client waits for this run's start (not a child, not a
    /// successor).
    client_start: bool,
}

/// A commit that ended, to hand to [`Engine::settle`].
pub struct Committed {
    plans: Vec<Plan>,
    result: Result<Vec<Result<Written, JournalError>>, JournalError>,
}

impl std::fmt::Debug for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committed").field("runs", &self.plans.len()).finish_non_exhaustive()
    }
}

/// The engine. See the module docs.
pub struct Engine {
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    live: HashMap<RunId, LiveRun>,
    /// Runs this engine owns without holding their future (evicted): their
    /// leases are kept and renewed, and they are replayed on their next
    /// work.
    parked: HashMap<RunId, Lease>,
    /// Runs whose last commit failed with an unknown outcome: reloaded
    /// from the journal before anything else is written to them.
    reload: BTreeSet<RunId>,
    /// Live runs with work staged since their last commit, in order.
    dirty: Vec<RunId>,
    /// Runs with a commit in flight: not in another until it ends.
    committing: HashSet<RunId>,
    in_flight: FuturesUnordered<BoxFuture<'static, Committed>>,
    /// Workflow ids of runs staged for creation in the coming commit.
    staged_ids: HashMap<String, RunId>,
    start_results: Vec<(RunId, Result<RunId, StartError>)>,
    local: Option<LocalDispatch>,
    dispatch: Vec<ActivityTask>,
    /// Activities scheduled here that no local worker runs (warned once).
    unrunnable: HashSet<String>,
    /// Parked runs that have work waiting in the journal (a child ended).
    wake_soon: Vec<RunId>,
    /// This engine's identity in the journal's version registrations.
    process: uuid::Uuid,
    /// Workflow versions other live processes serve (and this one may not).
    elsewhere: HashSet<(String, crate::ids::VersionHash)>,
    /// Final attempt results of this process's workers that could not be
    /// journaled with their run (its commit failed): to record on the
    /// task with [`Journal::finish_attempt`] (see
    /// [`take_handed_back`](Self::take_handed_back)).
    handed_back: Vec<(ActivityTask, AttemptResult)>,
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
            parked: HashMap::new(),
            reload: BTreeSet::new(),
            dirty: Vec::new(),
            committing: HashSet::new(),
            in_flight: FuturesUnordered::new(),
            staged_ids: HashMap::new(),
            start_results: Vec::new(),
            local: None,
            dispatch: Vec::new(),
            unrunnable: HashSet::new(),
            wake_soon: Vec::new(),
            process: uuid::Uuid::new_v4(),
            elsewhere: HashSet::new(),
            handed_back: Vec::new(),
            timers: TimerWheel::default(),
            outcomes: Arc::new(Outcomes::default()),
            config,
            tick: 0,
            stats: EngineStats::default(),
        }
    }

    /// Leases new activity tasks to this process's workers as they are
    /// journaled (see [`LocalDispatch`]). Without it every task waits in
    /// the journal to be claimed.
    pub fn set_local_dispatch(&mut self, local: LocalDispatch) {
        self.local = Some(local);
    }

    /// Tasks leased to this process by the commits so far, to run now.
    pub fn take_dispatch(&mut self) -> Vec<ActivityTask> {
        std::mem::take(&mut self.dispatch)
    }

    /// Attempt results that are not journaled with their run (a retry, a
    /// run another process serves, a write that failed): the caller
    /// records each on its task with [`Journal::finish_attempt`].
    pub fn take_handed_back(&mut self) -> Vec<(ActivityTask, AttemptResult)> {
        std::mem::take(&mut self.handed_back)
    }

    /// Stages the work waiting in the journal for parked runs that were
    /// told of it by this engine itself (a child served here ended).
    pub async fn stage_local_wakes(&mut self) {
        let runs = std::mem::take(&mut self.wake_soon);
        if !runs.is_empty() {
            self.take_pending_work(runs).await;
        }
    }

    /// How the starts staged with [`stage_start`](Self::stage_start) ended,
    /// once committed.
    pub fn take_start_results(&mut self) -> Vec<(RunId, Result<RunId, StartError>)> {
        std::mem::take(&mut self.start_results)
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

    /// Whether runs wait to be reloaded after a failed commit.
    pub fn has_reloads(&self) -> bool {
        !self.reload.is_empty()
    }

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
        if let Some(existing) = self.staged_ids.get(&workflow_id) {
            return Err(StartError::DuplicateWorkflowId { workflow_id, existing: *existing });
        }
        self.stage_new_run(workflow, id, workflow_id, req.input, None, None);
        Ok(id)
    }

    /// Builds a run that does not exist yet, polls it to its first wait and
    /// stages its creation (already leased to this engine) with its first
    /// events for the next commit.
    fn stage_new_run(
        &mut self,
        workflow: ErasedWorkflow,
        id: RunId,
        workflow_id: String,
        input: Payload,
        parent: Option<ParentRef>,
        continued_from: Option<RunId>,
    ) {
        let now = self.clock.now();
        let started = HistoryEvent {
            seq: 1,
            at: now,
            event: Event::RunStarted {
                workflow: workflow.name.to_owned(),
                version: workflow.version,
                input,
                parent,
                continued_from,
            },
        };
        let lease = Lease { run: id, token: 0 };
        let (mut live, failure) =
            LiveRun::new(workflow, id, Arc::from(vec![started.clone()]), lease, now, self.limits());
        // The run's first event is journaled by the commit that creates it.
        live.core().outbox.push(started);
        live.pending_create = Some(workflow_id.clone());
        match failure {
            Some(f) => {
                live.fail(f);
            }
            None => {
                live.poll_live(now);
            }
        }
        self.staged_ids.insert(workflow_id, id);
        self.insert_live(live);
        self.pump(id);
    }

    /// Records this process's workflow versions in the journal (and that
    /// it is alive), and learns which versions other live processes serve.
    async fn refresh_versions(&mut self) -> Result<(), JournalError> {
        self.journal.register_versions(self.process, &self.registry.versions(), self.liveness()).await?;
        self.elsewhere = self.journal.served_versions(self.process).await?.into_iter().collect();
        Ok(())
    }

    /// How long this process's version registration counts as alive
    /// without renewal: several renewal periods.
    fn liveness(&self) -> std::time::Duration {
        (self.config.lease_renewal * 6).max(std::time::Duration::from_secs(1))
    }

    /// What this process can serve, for adopting orphaned runs.
    fn servable(&self) -> Servable {
        Servable { process: self.process, exact: self.registry.versions(), names: self.registry.workflow_names() }
    }

    /// Runs that have not ended and that no registered version serves: not
    /// this process's (exactly), nor another live process's. They resume
    /// only on a version they did not start on (if this process has their
    /// workflow), or not at all — the audit for rolling deploys.
    pub async fn unservable_runs(&mut self) -> Result<Vec<crate::journal::RunInfo>, JournalError> {
        self.refresh_versions().await?;
        let mut out = Vec::new();
        for run in self.journal.active_runs().await? {
            let info = match self.journal.run_info(run).await {
                Ok(info) => info,
                Err(JournalError::RunNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let served = self.registry.workflow_version(&info.workflow, info.version).is_some()
                || self.elsewhere.contains(&(info.workflow.clone(), info.version));
            if !served {
                out.push(info);
            }
        }
        Ok(out)
    }

    fn limits(&self) -> Limits {
        Limits { max_payload: self.config.max_payload_bytes, max_child_depth: self.config.max_child_depth }
    }

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
    async fn serve(&mut self, run: RunId) -> bool {
        if self.owns(run) || !self.journal.run_leases_expire() { self.ensure_live(run).await } else { false }
    }

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
            live.inbox.push_back(Inbound::Task(outcome, None));
        }
        self.pump(run);
    }

    /// Stages the result of an attempt this process's worker ran. A final
    /// one (completed, or failed with no retry left) for a run this engine
    /// serves is journaled by the run's next commit — the task's outcome,
    /// the run's reaction and its next commands in one write. Any other is
    /// handed back ([`take_handed_back`](Self::take_handed_back)): the
    /// caller records it on the task with [`Journal::finish_attempt`], for
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
            self.handed_back.push((task, result));
            return;
        }
        let store = match (&outcome, &task.idempotency_key) {
            (Ok(output), Some(key)) => {
                Some(StoredResult { activity: task.activity.clone(), key: key.clone(), output: output.clone() })
            }
            _ => None,
        };
        if let Some(live) = self.live.get_mut(&run) {
            let outcome = TaskOutcome { run, seq: task.seq, attempts: task.attempt, result: outcome };
            live.inbox.push_back(Inbound::Task(outcome, store));
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
        if was_live && let Some(live) = self.live.get_mut(&run) {
            // A freshly loaded run read its mailbox, this signal included.
            live.offer_signal(signal);
        }
        self.pump(run);
    }

    /// Stages work another process recorded for runs this engine serves
    /// (`None`: check every run served), after a [`Journal::run_wakeups`]
    /// hint.
    pub async fn stage_wake(&mut self, runs: Option<Vec<RunId>>) {
        let runs = match runs {
            Some(runs) => runs.into_iter().filter(|r| self.owns(*r)).collect(),
            None => self.live.keys().chain(self.parked.keys()).copied().collect(),
        };
        self.take_pending_work(runs).await;
    }

    /// Renews the leases of the runs this engine serves (dropping those
    /// another process took over), delivers work that reached the journal
    /// without reaching the engine, reloads runs whose last commit failed,
    /// and adopts runs whose owner died. Called periodically by the
    /// runtime. Commits.
    pub async fn maintain_leases(&mut self) {
        // Settle what is in flight first: a run's lease is known once its
        // creation is confirmed.
        self.commit().await;
        let mut leases: Vec<Lease> =
            self.live.values().filter(|l| !l.terminal && l.pending_create.is_none()).map(|l| l.lease.clone()).collect();
        leases.extend(self.parked.values().cloned());
        match self.journal.renew_run_leases(&leases).await {
            Ok(lost) => {
                for run in lost {
                    info!(run_id = %run, "run lease taken over by another process; dropping the run");
                    self.drop_run(run);
                }
            }
            Err(e) => warn!(error = %e, "renewing run leases failed; retrying at the next renewal"),
        }
        if let Err(e) = self.refresh_versions().await {
            warn!(error = %e, "registering this process's workflow versions failed; retrying at the next renewal");
        }
        let served: Vec<RunId> = self.live.keys().chain(self.parked.keys()).copied().collect();
        self.take_pending_work(served).await;
        self.reload_runs().await;
        match self.journal.claim_orphaned_runs(64, &self.servable()).await {
            Ok(runs) => {
                for run in runs {
                    info!(run_id = %run, "adopting a run whose owner stopped renewing its lease");
                    self.ensure_live(run).await;
                }
            }
            Err(e) => warn!(error = %e, "looking for orphaned runs failed; retrying at the next renewal"),
        }
        self.commit().await;
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
                Err(e @ JournalError::Backend(_)) => {
                    debug!(run_id = %run, error = %e, "reload failed; retrying");
                    self.reload.insert(run);
                }
                Err(e) => debug!(run_id = %run, error = %e, "run not reloaded"),
            }
        }
    }

    /// Delivers work that reached the journal for `runs` without reaching
    /// this engine (see [`Journal::pending_work`]). Duplicates are
    /// harmless: a task outcome for a command no longer open is ignored,
    /// and a signal already in the run's mailbox is not added twice. A
    /// parked run with pending work is loaded, which reads all of it.
    /// Stages.
    async fn take_pending_work(&mut self, runs: Vec<RunId>) {
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
                live.inbox.push_back(Inbound::Task(outcome, None));
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
        }
        fired
    }

    /// Cancels a run: journals `RunCancelled`, drops its future and its
    /// timers, then cancels its running descendants (children,
    /// grandchildren…, up to [`EngineConfig::max_child_depth`] levels).
    /// Nothing is appended to a cancelled run afterwards. Commits (with
    /// whatever else is staged).
    pub async fn cancel(&mut self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        // Addressed to any run of a `continue_as_new` chain, the cancel
        // reaches its live tip.
        let run = self.journal.chain_tip(run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => CancelError::RunNotFound(r),
            other => CancelError::Journal(other),
        })?;
        self.cancel_run(run, reason.clone()).await?;
        self.cancel_descendants(run, reason).await;
        Ok(())
    }

    async fn cancel_run(&mut self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        let status = |e: JournalError| match e {
            JournalError::RunNotFound(r) => CancelError::RunNotFound(r),
            other => CancelError::Journal(other),
        };
        let info = self.journal.run_info(run).await.map_err(status)?;
        if info.status.is_terminal() {
            return Err(CancelError::RunTerminal { run, status: info.status });
        }
        let event = Event::RunCancelled { reason: reason.clone() };
        if self.parked.contains_key(&run) {
            self.ensure_live(run).await;
        }
        if let Some(live) = self.live.get_mut(&run) {
            if live.terminal {
                // The run ended in memory; its end is not journaled yet.
                // It wins: commit it and report it.
                self.commit().await;
                let info = self.journal.run_info(run).await.map_err(status)?;
                return Err(CancelError::RunTerminal { run, status: info.status });
            }
            let now = self.clock.now();
            live.cancel(event, now);
            self.mark_dirty(run);
            self.commit().await;
        } else {
            let lease = self.journal.acquire_run(run).await.map_err(|e| match e {
                JournalError::RunTerminal { run, status } => CancelError::RunTerminal { run, status },
                other => CancelError::Journal(other),
            })?;
            let info = self.journal.run_info(run).await.map_err(CancelError::Journal)?;
            let append = RunAppend::events(
                lease,
                vec![HistoryEvent { seq: info.last_seq + 1, at: self.clock.now(), event: event.clone() }],
            );
            self.journal.append(append).await.map_err(CancelError::Journal)?;
            self.timers.clear_run(run);
            self.outcomes.publish(run, RunOutcome::Cancelled(reason));
        }
        match self.journal.run_info(run).await {
            Ok(i) if i.status == RunStatus::Cancelled => {
                info!(run_id = %run, workflow = %info.workflow, "run cancelled");
                Ok(())
            }
            Ok(i) if i.status.is_terminal() => Err(CancelError::RunTerminal { run, status: i.status }),
            Ok(_) => Err(CancelError::Journal(JournalError::Backend(format!(
                "the cancel of run {run} was not journaled (its write failed); the run goes on — retry the cancel"
            )))),
            Err(e) => Err(CancelError::Journal(e)),
        }
    }

    /// Cancels the running descendants of a cancelled run, level by level.
    async fn cancel_descendants(&mut self, root: RunId, reason: Option<String>) {
        let mut level = vec![root];
        for _ in 0..=self.config.max_child_depth {
            let mut next = Vec::new();
            for parent in level {
                let children = match self.journal.running_children(parent).await {
                    Ok(children) => children,
                    Err(e) => {
                        warn!(run_id = %parent, error = %e, "listing children to cancel failed; they go on");
                        continue;
                    }
                };
                for child in children {
                    match self.cancel_run(child, reason.clone()).await {
                        Ok(()) | Err(CancelError::RunTerminal { .. }) => {}
                        Err(e) => warn!(run_id = %child, parent_id = %parent, error = %e, "cancelling a child failed"),
                    }
                    next.push(child);
                }
            }
            if next.is_empty() {
                return;
            }
            level = next;
        }
        warn!(run_id = %root, max = self.config.max_child_depth,
            "the cancel cascade stopped at the maximum child depth; deeper descendants go on");
    }

    fn insert_live(&mut self, mut live: LiveRun) {
        self.tick += 1;
        live.last_active = self.tick;
        self.parked.remove(&live.run);
        self.live.insert(live.run, live);
    }

    /// Forgets a run this engine no longer serves.
    fn drop_run(&mut self, run: RunId) {
        if let Some(live) = self.live.remove(&run) {
            self.handed_back.extend(live.attempts);
        }
        self.parked.remove(&run);
        self.timers.clear_run(run);
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
        let result = self.load_inner(run).await;
        // A transient failure keeps a parked run parked (its lease and
        // timers stay, it is loaded at its next work); any other means it
        // is not ours to serve.
        if let Err(e) = &result
            && !matches!(e, JournalError::Backend(_))
        {
            self.parked.remove(&run);
            self.timers.clear_run(run);
        }
        result
    }

    async fn load_inner(&mut self, run: RunId) -> Result<(), JournalError> {
        let info = self.journal.run_info(run).await?;
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
        let lease = match self.parked.get(&run) {
            Some(kept) => self.journal.reacquire_run(kept).await?,
            None => self.journal.acquire_run(run).await?,
        };
        let history = match self.journal.history(run).await {
            Ok(history) => history,
            Err(JournalError::CorruptEvent { run, seq, detail }) => {
                // The history cannot be replayed: fail the run, naming the
                // event, rather than leave it stuck. Other runs go on.
                let failure = RunFailure::undecodable_event(run, seq, detail.clone());
                error!(run_id = %run, workflow = workflow.name, seq, %detail, "stored history does not decode; failing the run");
                let append = RunAppend::events(
                    lease,
                    vec![HistoryEvent {
                        seq: info.last_seq + 1,
                        at: self.clock.now(),
                        event: Event::RunFailed { failure: failure.clone() },
                    }],
                );
                self.journal.append(append).await?;
                self.drop_run(run);
                self.outcomes.publish(run, RunOutcome::Failed(failure));
                return Err(JournalError::CorruptEvent { run, seq, detail });
            }
            Err(e) => return Err(e),
        };
        // Everything read before anything is armed: a failed read leaves
        // no timer behind.
        let pending = self.journal.pending_work(&[run]).await?;
        let now = self.clock.now();
        self.stats.runs_replayed += 1;
        self.stats.events_replayed += history.len() as u64;
        info!(run_id = %run, workflow = workflow.name, events = history.len(), "replaying run");
        let name = workflow.name;
        let (mut live, failure) = LiveRun::new(workflow, run, history, lease.clone(), now, self.limits());
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
            for (_, signal) in pending.signals {
                live.offer_signal(signal);
            }
            for outcome in pending.tasks {
                live.inbox.push_back(Inbound::Task(outcome, None));
            }
            for report in pending.children {
                live.inbox.push_back(Inbound::Child(report.command, report.outcome));
            }
        }
        self.insert_live(live);
        self.pump(run);
        Ok(())
    }

    fn mark_dirty(&mut self, run: RunId) {
        if let Some(live) = self.live.get_mut(&run)
            && !live.dirty
        {
            live.dirty = true;
            self.dirty.push(run);
        }
    }

    /// Delivers everything the run can take now, one resolution per poll,
    /// so the history records the order the workflow observed; the run is
    /// then staged for the next commit.
    fn pump(&mut self, run: RunId) {
        loop {
            self.pump_once(run);
            let continued = self.live.get_mut(&run).and_then(|l| l.continued.take());
            if let Some((next, input)) = continued {
                self.stage_successor(run, next, input);
            }
            let children = match self.live.get_mut(&run) {
                Some(live) => std::mem::take(&mut live.core().new_children),
                None => return,
            };
            if children.is_empty() {
                break;
            }
            let mut refused = false;
            for child in children {
                let seq = child.seq;
                if let Err(outcome) = self.stage_child(run, child) {
                    refused = true;
                    if let Some(live) = self.live.get_mut(&run) {
                        live.inbox.push_back(Inbound::Child(seq, outcome));
                    }
                }
            }
            if !refused {
                break;
            }
        }
        self.mark_dirty(run);
    }

    /// Stages the successor of a run that continued as new, in the same
    /// commit as the predecessor's end: the workflow's current version, an
    /// empty history, the same parent (a continued child stays its
    /// parent's child). The journal gives it the chain's workflow id.
    fn stage_successor(&mut self, run: RunId, next: RunId, input: Payload) {
        let Some(live) = self.live.get(&run) else { return };
        let name = live.workflow.name;
        let parent = live.core().parent;
        let workflow = self.registry.workflow(name).cloned().unwrap_or_else(|| live.workflow.clone());
        info!(run_id = %run, next_run_id = %next, workflow = name, "run continues as new");
        self.stage_new_run(workflow, next, next.to_string(), input, parent, Some(run));
    }

    /// Stages the creation of a child a live command asked for, in the
    /// same commit as the parent's `ChildStarted` (see
    /// [`flush`](Self::flush)). A child whose workflow is not registered
    /// here is refused: the parent gets that as the child's outcome.
    fn stage_child(&mut self, parent: RunId, child: NewChild) -> Result<(), RunOutcome> {
        let Some(workflow) = self.registry.workflow(&child.workflow).cloned() else {
            warn!(run_id = %parent, child = %child.workflow, "child workflow is not registered here; the parent gets an error");
            return Err(RunOutcome::Failed(RunFailure::UnknownWorkflow { name: child.workflow }));
        };
        let depth = self.live.get(&parent).and_then(|l| l.core().parent).map_or(0, |p| p.depth) + 1;
        let parent_ref = ParentRef { run: parent, command: child.seq, depth };
        debug!(run_id = %parent, child_id = %child.child, workflow = workflow.name, "starting a child run");
        self.stage_new_run(workflow, child.child, child.child.to_string(), child.input, Some(parent_ref), None);
        Ok(())
    }

    fn pump_once(&mut self, run: RunId) {
        let now = self.clock.now();
        let Some(live) = self.live.get_mut(&run) else { return };
        while !live.terminal {
            if let Some(inbound) = live.inbox.pop_front() {
                match inbound {
                    Inbound::Task(outcome, store) => {
                        live.resolved_tasks.push(outcome.seq);
                        if !live.is_open(outcome.seq) {
                            continue;
                        }
                        live.stored_results.extend(store);
                        let compensation =
                            matches!(live.core().open.get(&outcome.seq), Some(OpenCommand::Compensation));
                        let (scheduled, attempts) = (outcome.seq, outcome.attempts);
                        let (event, kind) = match outcome.result {
                            Ok(output) => (
                                if compensation {
                                    Event::CompensationCompleted { scheduled, attempts, output: output.clone() }
                                } else {
                                    Event::ActivityCompleted { scheduled, attempts, output: output.clone() }
                                },
                                ResolutionKind::Activity(Ok(output)),
                            ),
                            Err(error) => (
                                if compensation {
                                    Event::CompensationFailed { scheduled, attempts, error: error.clone() }
                                } else {
                                    Event::ActivityFailed { scheduled, attempts, error: error.clone() }
                                },
                                ResolutionKind::Activity(Err(error)),
                            ),
                        };
                        live.deliver(outcome.seq, event, kind, now);
                    }
                    Inbound::Child(seq, outcome) => {
                        live.resolved_children.push(seq);
                        if !live.is_open(seq) {
                            continue;
                        }
                        let event = match &outcome {
                            RunOutcome::Completed(output) => {
                                Event::ChildCompleted { started: seq, output: output.clone() }
                            }
                            RunOutcome::Failed(failure) => {
                                Event::ChildFailed { started: seq, failure: failure.clone() }
                            }
                            RunOutcome::Cancelled(reason) => {
                                Event::ChildCancelled { started: seq, reason: reason.clone() }
                            }
                        };
                        live.deliver(seq, event, ResolutionKind::Child(outcome), now);
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

    /// Commits everything staged and waits for every commit in flight:
    /// what each run produced since its last commit is journaled (many
    /// runs per journal call, see [`flush`](Self::flush)) and acted on.
    pub async fn commit(&mut self) {
        loop {
            while self.flush() {}
            if !self.settle_next().await {
                if self.wake_soon.is_empty() {
                    break;
                }
                self.stage_local_wakes().await;
            }
        }
    }

    /// Starts a journal commit of the staged runs that have no commit in
    /// flight, unless [`EngineConfig::max_in_flight`] commits are in flight
    /// already. Returns whether one started. Its outcome is acted on by
    /// [`settle`](Self::settle) once [`next_commit`](Self::next_commit)
    /// yields it.
    ///
    /// Several commits may be in flight, each carrying many runs (group
    /// commit); a run is in at most one of them, so its writes apply in
    /// order. Nothing a write asks for (a task to run, a timer, an outcome)
    /// is acted on before the journal confirms it.
    pub fn flush(&mut self) -> bool {
        if self.dirty.is_empty() || self.in_flight.len() >= self.config.max_in_flight.max(1) {
            return false;
        }
        let max = self.config.max_batch.max(1);
        let mut batch = Vec::new();
        let mut waiting = Vec::new();
        // A child being created goes in the commit that journals its
        // parent's `ChildStarted`, never before it (nor alone after a
        // parent write that was refused).
        let mut children = Vec::new();
        for run in std::mem::take(&mut self.dirty) {
            if self.committing.contains(&run) {
                waiting.push(run);
            } else if let Some(parent) = self.created_with(run) {
                children.push((run, parent));
            } else if batch.len() < max {
                batch.push(run);
            } else {
                waiting.push(run);
            }
        }
        loop {
            let before = children.len();
            children.retain(|&(run, parent)| {
                if batch.contains(&parent) {
                    batch.push(run);
                    false
                } else {
                    true
                }
            });
            if children.len() == before {
                break;
            }
        }
        for (run, parent) in children {
            let parent_pending = self.committing.contains(&parent) || waiting.contains(&parent);
            if parent_pending || self.created_with(parent).is_some() {
                waiting.push(run);
            } else {
                batch.push(run);
            }
        }
        self.dirty = waiting;
        let (writes, plans) = self.prepare(batch);
        if writes.is_empty() {
            return !self.dirty.is_empty() && self.dirty.iter().any(|r| !self.committing.contains(r));
        }
        self.stats.commits += 1;
        self.stats.appends += writes.len() as u64;
        self.committing.extend(plans.iter().map(|p| p.run));
        let journal = self.journal.clone();
        // Its own task, so it proceeds while the engine stages more work.
        let commit = tokio::spawn(async move { journal.commit(writes).await });
        self.in_flight.push(Box::pin(async move {
            let result =
                commit.await.unwrap_or_else(|e| Err(JournalError::Backend(format!("commit task failed: {e}"))));
            Committed { plans, result }
        }));
        true
    }

    /// For a run not yet created, the run whose write must be in the same
    /// commit: the predecessor of a successor, the parent of a child.
    fn created_with(&self, run: RunId) -> Option<RunId> {
        let live = self.live.get(&run)?;
        live.pending_create.as_ref()?;
        let core = live.core();
        let continued_from = match core.history.first().map(|e| &e.event) {
            Some(Event::RunStarted { continued_from, .. }) => *continued_from,
            _ => None,
        };
        continued_from.or(core.parent.map(|p| p.run))
    }

    /// Commits in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Waits for the next commit in flight to end; `None` if none is in
    /// flight. Cancel-safe: a commit is yielded once.
    pub async fn next_commit(&mut self) -> Option<Committed> {
        self.in_flight.next().await
    }

    /// Acts on a commit that ended (see [`flush`](Self::flush)): arms
    /// timers, hands tasks leased to this process to
    /// [`take_dispatch`](Self::take_dispatch), publishes outcomes, reports
    /// starts. A run whose write was rejected (fenced, conflicting) is
    /// dropped: another engine owns it now. If the commit failed as a
    /// whole, its runs are reloaded from the journal before anything else
    /// is written to them.
    pub fn settle(&mut self, committed: Committed) {
        let Committed { plans, result } = committed;
        for plan in &plans {
            self.committing.remove(&plan.run);
            if let Some(workflow_id) = &plan.create {
                self.staged_ids.remove(workflow_id);
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
                    if let (Some(workflow_id), true) = (&plan.create, plan.client_start) {
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
        self.evict_if_needed();
    }

    async fn settle_next(&mut self) -> bool {
        match self.next_commit().await {
            Some(committed) => {
                self.settle(committed);
                true
            }
            None => false,
        }
    }

    /// Takes what each run produced since its last commit.
    fn prepare(&mut self, batch: Vec<RunId>) -> (Vec<RunWrite>, Vec<Plan>) {
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
            let stored_results = std::mem::take(&mut live.stored_results);
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
                for task in &mut new_tasks {
                    let runnable = self.registry.activity(&task.activity).is_some();
                    if !runnable && self.unrunnable.insert(task.activity.clone()) {
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
                create: plan.create.clone().map(|workflow_id| CreateRun { workflow_id }),
                append: RunAppend {
                    lease: live.lease.clone(),
                    events,
                    new_tasks,
                    resolved_tasks,
                    consumed_signals,
                    stored_results,
                    resolved_children,
                    child_report,
                },
            });
            plans.push(plan);
        }
        (writes, plans)
    }

    fn release_local(&self, n: usize) {
        if let Some(local) = &self.local
            && n > 0
        {
            local.in_hand.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Whether the live copy of `run` (if any) is the one that presented
    /// `token`: a run dropped and loaded again meanwhile is another
    /// incarnation, which an old write's result must not touch.
    fn same_incarnation(&self, run: RunId, token: u64) -> bool {
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
        // A child's end reaches a parent served here at once; the journal
        // holds it for any other.
        if let Some(report) = plan.report {
            if let Some(parent) = self.live.get_mut(&report.parent) {
                parent.inbox.push_back(Inbound::Child(report.command, report.outcome));
                self.pump(report.parent);
            } else if self.parked.contains_key(&report.parent) {
                self.wake_soon.push(report.parent);
            }
        }
    }

    fn evict_if_needed(&mut self) {
        let max = self.config.max_live_runs.max(1);
        if self.live.len() <= max {
            return;
        }
        let mut by_age: Vec<(u64, RunId)> = self
            .live
            .values()
            .filter(|l| !l.dirty && !l.terminal && !self.committing.contains(&l.run))
            .map(|l| (l.last_active, l.run))
            .collect();
        by_age.sort_unstable();
        let excess = self.live.len() - max;
        for (_, run) in by_age.into_iter().take(excess) {
            // Timers stay armed and the lease is kept: the run is replayed
            // when its next work arrives.
            if let Some(live) = self.live.remove(&run) {
                self.parked.insert(run, live.lease);
            }
            self.outcomes.forget(run);
            self.stats.evictions += 1;
            debug!(run_id = %run, "live run evicted");
        }
    }
}
