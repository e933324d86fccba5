//! The runtime: an engine task, an activity worker pool and a timer loop
//! on tokio, and the client API (`start`, `signal`, `cancel`,
//! `await_result`).

pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{error, warn};

pub use self::worker::WorkerConfig;
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineConfig, EngineStats, Outcomes, RunOutcome, StartRequest};
use crate::error::{AwaitError, CancelError, JournalError, SignalSendError, StartError};
use crate::event::HistoryEvent;
use crate::ids::RunId;
use crate::journal::{InMemoryJournal, Journal, MailboxSignal, RunInfo, TaskOutcome};
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
    Signal(RunId, MailboxSignal),
    Cancel(RunId, Option<String>, oneshot::Sender<Result<(), CancelError>>),
    Stats(oneshot::Sender<EngineStats>),
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
        let outcomes = engine.outcomes();
        engine.recover().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let engine_task = tokio::spawn(engine_loop(engine, rx, self.clock.clone()));
        let worker_task = tokio::spawn(dispatch_loop(journal.clone(), registry, self.clock, self.worker, tx.clone()));
        Ok(Runtime {
            inner: Arc::new(Inner { tx, max_payload, journal, outcomes, tasks: vec![engine_task, worker_task] }),
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
        let signal = self.inner.journal.send_signal(run, name, payload).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
            JournalError::RunTerminal { run, status } => SignalSendError::RunTerminal { run, status },
            other => SignalSendError::Journal(other),
        })?;
        // The signal is durable now; the engine message is only a wake-up.
        self.inner.tx.send(Command::Signal(run, signal)).map_err(|_| SignalSendError::Shutdown)
    }

    /// Cancels a run; it ends in the `Cancelled` state.
    pub async fn cancel(&self, run: RunId, reason: Option<String>) -> Result<(), CancelError> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Command::Cancel(run, reason, reply)).map_err(|_| CancelError::Shutdown)?;
        rx.await.map_err(|_| CancelError::Shutdown)?
    }

    /// Waits up to `timeout` for a run to end.
    pub async fn await_outcome(&self, run: RunId, timeout: Duration) -> Result<RunOutcome, AwaitError> {
        let mut rx = self.inner.outcomes.subscribe(run);
        // Subscribed first, then checked: an outcome published in between
        // is seen by one or the other.
        if let Some(outcome) = self.recorded_outcome(run).await? {
            return Ok(outcome);
        }
        let wait = async {
            // Another process may end the run (runs move between processes
            // sharing a journal): look at the journal now and then too.
            let mut poll = tokio::time::interval(Duration::from_millis(250));
            poll.tick().await;
            loop {
                if let Some(o) = rx.borrow_and_update().clone() {
                    return Ok(o);
                }
                tokio::select! {
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return Err(());
                        }
                    }
                    _ = poll.tick() => {
                        if let Ok(Some(o)) = self.recorded_outcome(run).await {
                            return Ok(o);
                        }
                    }
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(o)) => Ok(o),
            // The run was evicted and its waiter dropped: read the journal.
            Ok(Err(())) => match self.recorded_outcome(run).await? {
                Some(o) => Ok(o),
                None => Box::pin(self.await_outcome(run, timeout)).await,
            },
            Err(_) => Err(AwaitError::Timeout { run, after: timeout }),
        }
    }

    async fn recorded_outcome(&self, run: RunId) -> Result<Option<RunOutcome>, AwaitError> {
        let info = self.inner.journal.run_info(run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => AwaitError::RunNotFound(r),
            other => AwaitError::Journal(other),
        })?;
        if !info.status.is_terminal() {
            return Ok(None);
        }
        let history = match self.inner.journal.history(run).await {
            Ok(history) => history,
            // The history cannot be read back; the engine failed the run
            // for exactly this reason.
            Err(JournalError::CorruptEvent { run, seq, detail }) => {
                return Ok(Some(RunOutcome::Failed(crate::error::RunFailure::undecodable_event(run, seq, detail))));
            }
            Err(e) => return Err(AwaitError::Journal(e)),
        };
        Ok(history.last().and_then(|e| RunOutcome::from_event(&e.event)))
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

    /// The engine's counters.
    pub async fn stats(&self) -> Option<EngineStats> {
        let (reply, rx) = oneshot::channel();
        self.inner.tx.send(Command::Stats(reply)).ok()?;
        rx.await.ok()
    }
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

async fn engine_loop(mut engine: Engine, mut rx: mpsc::UnboundedReceiver<Command>, clock: Arc<dyn Clock>) {
    let renewal = engine.config().lease_renewal.max(Duration::from_millis(10));
    let mut next_renewal = tokio::time::Instant::now() + renewal;
    loop {
        let sleep_for = engine
            .next_timer_due()
            .map_or(Duration::from_secs(3600), |at| crate::clock::until(clock.now(), at))
            // Re-check at least every second so a wall-clock jump cannot
            // strand a timer.
            .min(Duration::from_secs(1))
            .min(next_renewal.saturating_duration_since(tokio::time::Instant::now()));
        let command = tokio::select! {
            biased;
            c = rx.recv() => match c {
                Some(c) => Some(c),
                None => return,
            },
            () = tokio::time::sleep(sleep_for) => None,
        };
        if let Some(c) = command {
            handle(&mut engine, c).await;
            // Drain what queued up meanwhile before looking at timers.
            for _ in 0..256 {
                match rx.try_recv() {
                    Ok(c) => handle(&mut engine, c).await,
                    Err(_) => break,
                }
            }
        }
        engine.fire_due_timers().await;
        if tokio::time::Instant::now() >= next_renewal {
            engine.maintain_leases().await;
            next_renewal = tokio::time::Instant::now() + renewal;
        }
    }
}

async fn handle(engine: &mut Engine, command: Command) {
    match command {
        Command::Start(req, reply) => {
            let _ = reply.send(engine.start(req).await);
        }
        Command::Task(outcome) => engine.on_task(outcome).await,
        Command::Signal(run, signal) => engine.on_signal(run, signal).await,
        Command::Cancel(run, reason, reply) => {
            let _ = reply.send(engine.cancel(run, reason).await);
        }
        Command::Stats(reply) => {
            let _ = reply.send(engine.stats());
        }
    }
}

async fn dispatch_loop(
    journal: Arc<dyn Journal>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    tx: mpsc::UnboundedSender<Command>,
) {
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    // Attempts belong to this loop: when the runtime stops, they stop with
    // it (and so do their heartbeats, letting the leases expire).
    let mut attempts = tokio::task::JoinSet::new();
    loop {
        while attempts.try_join_next().is_some() {}
        let free = slots.available_permits();
        if free == 0 {
            // Wait for one attempt to finish before claiming more.
            if let Ok(p) = slots.clone().acquire_owned().await {
                drop(p);
            }
            continue;
        }
        let claim = match journal.claim_tasks(free, config.task_lease).await {
            Ok(c) => c,
            Err(e) => {
                error!(error = %e, "claiming activity tasks failed; backing off");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        for outcome in claim.settled {
            if tx.send(Command::Task(outcome)).is_err() {
                return;
            }
        }
        if claim.tasks.is_empty() {
            let wait = match journal.next_task_due().await {
                Ok(Some(at)) => crate::clock::until(clock.now(), at).min(Duration::from_secs(1)),
                _ => Duration::from_secs(1),
            };
            journal.wait_for_tasks(wait.max(Duration::from_millis(1))).await;
            continue;
        }
        for task in claim.tasks {
            let Ok(permit) = slots.clone().acquire_owned().await else { return };
            let (journal, registry, clock, tx) = (journal.clone(), registry.clone(), clock.clone(), tx.clone());
            attempts.spawn(async move {
                if let Some(outcome) = worker::run_task(journal, registry, clock, task, config).await
                    && tx.send(Command::Task(outcome)).is_err()
                {
                    warn!("engine stopped before an activity outcome could be delivered; it stays in the journal");
                }
                drop(permit);
            });
        }
    }
}
