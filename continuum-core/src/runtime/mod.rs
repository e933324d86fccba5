//! The runtime: an engine task, an activity worker pool and a timer loop
//! on tokio, and the client API (`start`, `signal`, `cancel`,
//! `await_result`).

pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

pub use self::worker::WorkerConfig;
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineConfig, EngineStats, LocalDispatch, Outcomes, RunOutcome, StartRequest};
use crate::error::{AwaitError, CancelError, JournalError, SignalSendError, StartError};
use crate::event::HistoryEvent;
use crate::ids::RunId;
use crate::journal::{
    ActivityTask, AttemptResult, InMemoryJournal, Journal, MailboxSignal, RunInfo, RunStatus, RunWake, TaskOutcome,
};
use crate::payload::Payload;
use crate::registry::Registry;
use crate::workflow::{Activity, ActivityRef, Workflow, WorkflowRef};

/// Options for [`Runtime::start`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Caller-chosen workflow id: a second start with the same id is
    /// rejected with [`StartError::DuplicateWorkflowId`].
    pub workflow_id: Option<String>,
}

impl StartOptions {
    /// Options with a caller-chosen workflow id.
    pub fn id(workflow_id: impl Into<String>) -> Self {
        Self { workflow_id: Some(workflow_id.into()) }
    }
}

enum Command {
    Start(StartRequest, oneshot::Sender<Result<RunId, StartError>>),
    Task(TaskOutcome),
    Attempt(ActivityTask, AttemptResult),
    Signal(RunId, MailboxSignal),
    Cancel(RunId, Option<String>, oneshot::Sender<Result<(), CancelError>>),
    Stats(oneshot::Sender<EngineStats>),
    Audit(oneshot::Sender<Result<Vec<RunInfo>, JournalError>>),
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    journal: Option<Arc<dyn Journal>>,
    clock: Arc<dyn Clock>,
    registry: Registry,
    engine: EngineConfig,
    worker: WorkerConfig,
}

impl RuntimeBuilder {
    /// The journal (default: a fresh [`InMemoryJournal`]).
    pub fn journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Registers a workflow.
    pub fn workflow<W: Workflow>(mut self, _workflow: impl WorkflowRef<W>) -> Self {
        self.registry.register_workflow::<W>();
        self
    }

    /// Registers an older version of a workflow, kept compiled so runs
    /// that started on it resume on it (see
    /// [`Registry::register_workflow_version`]).
    pub fn workflow_version<W: Workflow>(mut self, _workflow: impl WorkflowRef<W>) -> Self {
        self.registry.register_workflow_version::<W>();
        self
    }

    /// Registers an activity.
    pub fn activity<A: Activity>(mut self, _activity: impl ActivityRef<A>) -> Self {
        self.registry.register_activity::<A>();
        self
    }

    /// Engine settings.
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// Worker settings.
    pub fn worker_config(mut self, config: WorkerConfig) -> Self {
        self.worker = config;
        self
    }

    /// Starts the runtime on the current tokio runtime: recovers every run
    /// the journal holds that has not ended, then serves.
    pub async fn start(self) -> Result<Runtime, JournalError> {
        let journal = self.journal.unwrap_or_else(|| Arc::new(InMemoryJournal::with_clock(self.clock.clone())));
        let registry = Arc::new(self.registry);
        let max_payload = self.engine.max_payload_bytes;
        let mut engine = Engine::new(journal.clone(), self.clock.clone(), registry.clone(), self.engine);
        let in_hand = Arc::new(AtomicUsize::new(0));
        let concurrency = self.worker.concurrency.max(1);
        engine.set_local_dispatch(LocalDispatch {
            in_hand: in_hand.clone(),
            // A short queue beyond the running attempts; past it, tasks
            // wait in the journal for any worker.
            limit: concurrency * 2,
            task_lease: self.worker.task_lease,
        });
        let outcomes = engine.outcomes();
        // Subscribed before recovery, so no hint recorded meanwhile is missed.
        let wakeups = journal.run_wakeups();
        engine.recover().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (local_tx, local_rx) = mpsc::unbounded_channel();
        for task in engine.take_dispatch() {
            let _ = local_tx.send(task);
        }
        let engine_task = tokio::spawn(engine_loop(engine, rx, self.clock.clone(), local_tx, wakeups));
        let worker_task = tokio::spawn(worker::pool_loop(
            journal.clone(),
            registry,
            self.clock,
            self.worker,
            local_rx,
            in_hand,
            tx.clone(),
        ));
        let watch_task = tokio::spawn(watch_remote_outcomes(journal.clone(), outcomes.clone()));
        Ok(Runtime {
            inner: Arc::new(Inner {
                tx,
                max_payload,
                journal,
                outcomes,
                tasks: vec![engine_task, worker_task, watch_task],
            }),
        })
    }
}

struct Inner {
    tx: mpsc::UnboundedSender<Command>,
    max_payload: usize,
    journal: Arc<dyn Journal>,
    outcomes: Arc<Outcomes>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A running Continuum instance. Cloning shares it; dropping the last
/// clone stops its tasks (the journal keeps every run).
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder with the system clock and an in-memory journal.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            journal: None,
            clock: Arc::new(SystemClock),
            registry: Registry::new(),
            engine: EngineConfig::default(),
            worker: WorkerConfig::default(),
        }
    }

    /// Starts workflow `W` with `input`.
    pub async fn start<W: Workflow>(
        &self,
        _workflow: impl WorkflowRef<W>,
        input: W::Input,
        options: StartOptions,
    ) -> Result<RunHandle<W>, StartError> {
        let input = Payload::encode(&input)
            .and_then(|p| p.within(self.inner.max_payload, std::any::type_name::<W::Input>()))
            .map_err(StartError::InputEncode)?;
        let run = self
            .start_request(StartRequest {
                workflow: W::NAME.to_owned(),
                workflow_id: options.workflow_id,
                input,
                check_input: false,
            })
            .await?;
        Ok(RunHandle { runtime: self.clone(), run, _workflow: std::marker::PhantomData })
    }

    /// Starts a workflow by name with a JSON input, checking the input
    /// against the workflow's input type before anything is journaled.
    pub async fn start_by_name(
        &self,
        workflow: &str,
        input: &serde_json::Value,
        options: StartOptions,
    ) -> Result<RunId, StartError> {
        let input = Payload::encode(input)
            .and_then(|p| p.within(self.inner.max_payload, "workflow input"))
            .map_err(StartError::InputEncode)?;
        self.start_request(StartRequest {
            workflow: workflow.to_owned(),
            workflow_id: options.workflow_id,
            input,
            check_input: true,
        })
        .await
    }

    async fn start_request(&self, req: StartRequest) -> Result<RunId, StartError> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Command::Start(req, reply)).map_err(|_| StartError::Shutdown)?;
        rx.await.map_err(|_| StartError::Shutdown)?
    }

    /// Sends a signal to a run's durable mailbox. Fails for a missing or
    /// ended run.
    pub async fn signal<T: Serialize>(&self, run: RunId, name: &str, body: &T) -> Result<(), SignalSendError> {
        let payload = Payload::encode(body)
            .and_then(|p| p.within(self.inner.max_payload, std::any::type_name::<T>()))
            .map_err(SignalSendError::Encode)?;
        // Addressed to any run of a `continue_as_new` chain, a signal goes
        // to its live tip (followed again if the tip continues meanwhile).
        let mut run = run;
        let signal = loop {
            let tip = self.inner.journal.chain_tip(run).await.map_err(|e| match e {
                JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
                other => SignalSendError::Journal(other),
            })?;
            match self.inner.journal.send_signal(tip, name, payload.clone()).await {
                Ok(signal) => {
                    run = tip;
                    break signal;
                }
                Err(JournalError::RunTerminal { status: RunStatus::Continued, .. }) => run = tip,
                Err(JournalError::RunNotFound(r)) => return Err(SignalSendError::RunNotFound(r)),
                Err(JournalError::RunTerminal { run, status }) => {
                    return Err(SignalSendError::RunTerminal { run, status });
                }
                Err(other) => return Err(SignalSendError::Journal(other)),
            }
        };
        // The signal is durable now; the engine message is only a wake-up.
        self.inner.tx.send(Command::Signal(run, signal)).map_err(|_| SignalSendError::Shutdown)
    }

    /// Cancels a run; it ends in the `Cancelled` state.
    pub async fn cancel(&self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Command::Cancel(run, reason, reply)).map_err(|_| CancelError::Shutdown)?;
        rx.await.map_err(|_| CancelError::Shutdown)?
    }

    /// Waits up to `timeout` for a run to end, whichever process ends it.
    pub async fn await_outcome(&self, run: RunId, timeout: Duration) -> Result<RunOutcome, AwaitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut rx = self.inner.outcomes.subscribe(run);
            // Subscribed first, then checked: an outcome published in
            // between is seen by one or the other. Runs that end in other
            // processes are published by the runtime's outcome watcher.
            if let Some(outcome) = self.recorded_outcome(run).await? {
                return Ok(outcome);
            }
            let wait = async {
                loop {
                    if let Some(o) = rx.borrow_and_update().clone() {
                        return Some(o);
                    }
                    if rx.changed().await.is_err() {
                        return None;
                    }
                }
            };
            match tokio::time::timeout_at(deadline, wait).await {
                Ok(Some(o)) => return Ok(o),
                // The run was evicted and its waiter dropped: look again.
                Ok(None) => {}
                Err(_) => return Err(AwaitError::Timeout { run, after: timeout }),
            }
        }
    }

    async fn recorded_outcome(&self, run: RunId) -> Result<Option<RunOutcome>, AwaitError> {
        recorded_outcome_of(self.inner.journal.as_ref(), run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => AwaitError::RunNotFound(r),
            other => AwaitError::Journal(other),
        })
    }

    /// The run's row.
    pub async fn get_run(&self, run: RunId) -> Result<RunInfo, JournalError> {
        self.inner.journal.run_info(run).await
    }

    /// The run's history.
    pub async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
        self.inner.journal.history(run).await
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.inner.journal
    }

    /// Runs that have not ended and whose version no registered workflow
    /// serves — neither this runtime nor another live process sharing the
    /// journal has the version they started on. For rolling deploys: keep
    /// such versions registered (`RuntimeBuilder::workflow_version`) until
    /// this list is empty.
    pub async fn unservable_runs(&self) -> Result<Vec<RunInfo>, JournalError> {
        let (reply, rx) = oneshot::channel();
        let shutdown = || JournalError::Backend("the runtime is shut down".into());
        self.inner.tx.send(Command::Audit(reply)).map_err(|_| shutdown())?;
        rx.await.map_err(|_| shutdown())?
    }

    /// The engine's counters.
    pub async fn stats(&self) -> Option<EngineStats> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Command::Stats(reply)).ok()?;
        rx.await.ok()
    }
}

/// The outcome the journal records for `run` — for a `continue_as_new`
/// chain, for its last run — if it has ended.
async fn recorded_outcome_of(journal: &dyn Journal, run: RunId) -> Result<Option<RunOutcome>, JournalError> {
    let mut info = journal.run_info(run).await?;
    if info.status == RunStatus::Continued {
        info = journal.run_info(journal.chain_tip(run).await?).await?;
    }
    let run = info.id;
    if !info.status.is_terminal() || info.status == RunStatus::Continued {
        return Ok(None);
    }
    let history = match journal.history(run).await {
        Ok(history) => history,
        // The history cannot be read back; the engine failed the run for
        // exactly this reason.
        Err(JournalError::CorruptEvent { run, seq, detail }) => {
            return Ok(Some(RunOutcome::Failed(crate::error::RunFailure::undecodable_event(run, seq, detail))));
        }
        Err(e) => return Err(e),
    };
    Ok(history.last().and_then(|e| RunOutcome::from_event(&e.event)))
}

/// A typed handle to a run of `W`.
pub struct RunHandle<W: Workflow> {
    runtime: Runtime,
    run: RunId,
    _workflow: std::marker::PhantomData<fn() -> W>,
}

impl<W: Workflow> std::fmt::Debug for RunHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle").field("run", &self.run).field("workflow", &W::NAME).finish()
    }
}

impl<W: Workflow> RunHandle<W> {
    /// The run's id.
    pub fn id(&self) -> RunId {
        self.run
    }

    /// Waits up to `timeout` for the run's output.
    pub async fn result(&self, timeout: Duration) -> Result<W::Output, AwaitError> {
        decode_outcome::<W>(self.run, self.runtime.await_outcome(self.run, timeout).await?)
    }

    /// Sends a signal to the run.
    pub async fn signal<T: Serialize>(&self, name: &str, body: &T) -> Result<(), SignalSendError> {
        self.runtime.signal(self.run, name, body).await
    }

    /// Cancels the run.
    pub async fn cancel(&self, reason: Option<String>) -> Result<(), CancelError> {
        self.runtime.cancel(self.run, reason).await
    }
}

/// Turns a run's outcome into `W`'s output.
pub fn decode_outcome<W: Workflow>(run: RunId, outcome: RunOutcome) -> Result<W::Output, AwaitError> {
    match outcome {
        RunOutcome::Completed(p) => p.decode().map_err(|error| AwaitError::Decode { run, error }),
        RunOutcome::Failed(failure) => Err(AwaitError::Failed { run, failure }),
        RunOutcome::Cancelled(reason) => Err(AwaitError::Cancelled { run, reason }),
    }
}

/// Commands gathered into one commit at most.
const MAX_COMMANDS_PER_COMMIT: usize = 4096;

/// The engine's loop: gathers every command that is waiting (and the
/// hints, and due timers) into a batch, commits it in one journal call,
/// and answers and dispatches once the journal confirms. Several commits
/// may be in flight; work that arrives meanwhile joins the next one, so
/// batches grow with the load (group commit).
async fn engine_loop(
    mut engine: Engine,
    mut rx: mpsc::UnboundedReceiver<Command>,
    clock: Arc<dyn Clock>,
    local: mpsc::UnboundedSender<ActivityTask>,
    mut wakeups: Option<broadcast::Receiver<RunWake>>,
) {
    let renewal = engine.config().lease_renewal.max(Duration::from_millis(10));
    let mut next_renewal = tokio::time::Instant::now() + renewal;
    let mut next_reload = tokio::time::Instant::now();
    let mut starts: HashMap<RunId, oneshot::Sender<Result<RunId, StartError>>> = HashMap::new();
    let journal = engine.journal().clone();
    loop {
        let mut sleep_for = engine
            .next_timer_due()
            .map_or(Duration::from_secs(3600), |at| crate::clock::until(clock.now(), at))
            // Re-check at least every second so a wall-clock jump cannot
            // strand a timer.
            .min(Duration::from_secs(1))
            .min(next_renewal.saturating_duration_since(tokio::time::Instant::now()));
        if engine.has_reloads() {
            sleep_for = sleep_for.min(next_reload.saturating_duration_since(tokio::time::Instant::now()));
        }
        let wake = async {
            match wakeups.as_mut() {
                Some(w) => w.recv().await,
                None => std::future::pending().await,
            }
        };
        let mut woken: Vec<RunId> = Vec::new();
        let mut wake_all = false;
        tokio::select! {
            biased;
            Some(done) = engine.next_commit(), if engine.in_flight() > 0 => engine.settle(done),
            c = rx.recv() => match c {
                Some(c) => stage(&mut engine, c, &mut starts).await,
                None => return,
            },
            w = wake => match w {
                Ok(hint) => note_wake(hint, &mut woken, &mut wake_all),
                // Missed hints: look at every run.
                Err(broadcast::error::RecvError::Lagged(_)) => wake_all = true,
                Err(broadcast::error::RecvError::Closed) => {}
            },
            () = tokio::time::sleep(sleep_for) => {}
        }
        // Everything that queued up meanwhile joins this commit.
        for _ in 0..MAX_COMMANDS_PER_COMMIT {
            match rx.try_recv() {
                Ok(c) => stage(&mut engine, c, &mut starts).await,
                Err(_) => break,
            }
        }
        if let Some(w) = wakeups.as_mut() {
            loop {
                match w.try_recv() {
                    Ok(hint) => note_wake(hint, &mut woken, &mut wake_all),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => wake_all = true,
                    Err(_) => break,
                }
                if wake_all {
                    break;
                }
            }
        }
        if wake_all {
            engine.stage_wake(None).await;
        } else if !woken.is_empty() {
            engine.stage_wake(Some(woken)).await;
        }
        engine.stage_local_wakes().await;
        engine.stage_due_timers().await;
        if engine.has_reloads() && tokio::time::Instant::now() >= next_reload {
            engine.reload_runs().await;
            next_reload = tokio::time::Instant::now() + Duration::from_millis(500);
        }
        if tokio::time::Instant::now() >= next_renewal {
            // Commits everything first, then renews and adopts.
            engine.maintain_leases().await;
            next_renewal = tokio::time::Instant::now() + renewal;
        }
        // A commit starts now if there is room in flight; otherwise the
        // staged work waits for one to end and joins a larger batch.
        while engine.flush() {}
        for (run, result) in engine.take_start_results() {
            if let Some(reply) = starts.remove(&run) {
                let _ = reply.send(result);
            }
        }
        for task in engine.take_dispatch() {
            let _ = local.send(task);
        }
        for (task, result) in engine.take_handed_back() {
            // Another process serves the run: record the result on the
            // task; the journal tells the run's owner.
            let journal = journal.clone();
            tokio::spawn(async move {
                if let Err(e) = journal.finish_attempt(&task, result).await {
                    warn!(run_id = %task.run, seq = task.seq, error = %e, "activity result rejected");
                }
            });
        }
    }
}

fn note_wake(hint: RunWake, woken: &mut Vec<RunId>, all: &mut bool) {
    match hint {
        RunWake::Run(run) => woken.push(run),
        RunWake::All => *all = true,
    }
}

async fn stage(
    engine: &mut Engine,
    command: Command,
    starts: &mut HashMap<RunId, oneshot::Sender<Result<RunId, StartError>>>,
) {
    match command {
        Command::Start(req, reply) => match engine.stage_start(req) {
            Ok(run) => {
                starts.insert(run, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
        Command::Task(outcome) => engine.stage_task(outcome).await,
        Command::Attempt(task, result) => engine.stage_attempt(task, result).await,
        Command::Signal(run, signal) => engine.stage_signal(run, signal).await,
        Command::Cancel(run, reason, reply) => {
            let _ = reply.send(engine.cancel(run, reason).await);
        }
        Command::Stats(reply) => {
            let _ = reply.send(engine.stats());
        }
        Command::Audit(reply) => {
            let _ = reply.send(engine.unservable_runs().await);
        }
    }
}

/// Publishes the outcomes of awaited runs that ended in other processes
/// (runs move between processes sharing a journal): one journal query for
/// all waiters, a few times a second.
async fn watch_remote_outcomes(journal: Arc<dyn Journal>, outcomes: Arc<Outcomes>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let waiting = outcomes.awaited();
        if waiting.is_empty() {
            continue;
        }
        let ended = match journal.run_statuses(&waiting).await {
            Ok(statuses) => statuses.into_iter().filter(|(_, s)| s.is_terminal()).map(|(r, _)| r),
            Err(e) => {
                debug!(error = %e, "checking awaited runs failed; retrying");
                continue;
            }
        };
        for run in ended.collect::<Vec<_>>() {
            match recorded_outcome_of(journal.as_ref(), run).await {
                Ok(Some(outcome)) => outcomes.publish(run, outcome),
                Ok(None) => {}
                Err(e) => debug!(run_id = %run, error = %e, "reading an ended run's outcome failed; retrying"),
            }
        }
    }
}
