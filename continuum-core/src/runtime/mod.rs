//! The runtime: on tokio, an engine task (which also fires due timers), an
//! activity worker pool and a watcher of runs that end elsewhere, and the
//! client API (`start`, `signal`, `cancel`, `await_outcome`).

mod builder;
mod client;
mod engine_loop;
mod handle;
mod options;
mod readiness;
mod remote_outcomes;
mod shutdown;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use self::builder::RuntimeBuilder;
pub use self::client::Client;
use self::client::Started;
pub use self::handle::{RunHandle, decode_outcome};
pub use self::options::{IfRunning, MAX_DELIVERY_ID_BYTES, RunRef, SignalDelivery, StartOptions};
pub use self::readiness::Readiness;
use self::readiness::ReadinessCell;
pub use self::shutdown::ShutdownReport;
pub use self::worker::WorkerConfig;
use crate::engine::{EngineStats, RunOutcome, StartRequest};
use crate::error::{AwaitError, CancelError, JournalError, SignalSendError, StartError};
use crate::event::HistoryEvent;
use crate::ids::RunId;
use crate::journal::{ActivityTask, AttemptResult, Journal, MailboxSignal, RunInfo, TaskOutcome};
use crate::payload::Payload;
use crate::workflow::{Workflow, WorkflowRef};

enum Command {
    Start(StartRequest, oneshot::Sender<Result<RunId, StartError>>),
    Task(TaskOutcome),
    Attempt(ActivityTask, AttemptResult),
    Signal(RunId, MailboxSignal),
    Cancel(RunId, Option<String>, oneshot::Sender<Result<(), CancelError>>),
    Stats(oneshot::Sender<EngineStats>),
    Audit(oneshot::Sender<Result<Vec<RunInfo>, JournalError>>),
    /// Shutting down: take no new work.
    Drain(oneshot::Sender<()>),
    /// Shutting down: commit everything, release every run, stop.
    Release(oneshot::Sender<Result<usize, JournalError>>),
}

struct Inner {
    tx: mpsc::UnboundedSender<Command>,
    max_payload: usize,
    /// The client calls, on this runtime's engine.
    client: Client,
    readiness: ReadinessCell,
    /// The worker pool's drain requests.
    pool: mpsc::UnboundedSender<worker::Drain>,
    /// The first shutdown's result, once it ended.
    shutdown: tokio::sync::Mutex<Option<Result<ShutdownReport, JournalError>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A running Continuum instance. Cloning shares it.
///
/// Stop it with [`shutdown`](Self::shutdown), which hands its runs and
/// tasks over to other processes at once. Dropping the last clone without
/// it stops its tasks abruptly — a crash as far as other processes can
/// tell: the journal keeps every run, and they are adopted once their
/// leases lapse.
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
        RuntimeBuilder::new()
    }

    /// Starts workflow `W` with `input`: journaled already held by this
    /// runtime, run to its first wait and its first commands journaled in
    /// the same commit. `options` decides what happens if the workflow id
    /// is taken.
    pub async fn start<W: Workflow>(
        &self,
        _workflow: impl WorkflowRef<W>,
        input: W::Input,
        options: StartOptions,
    ) -> Result<RunHandle<W>, StartError> {
        let input = Payload::encode(&input)
            .and_then(|p| p.within(self.inner.max_payload, std::any::type_name::<W::Input>()))
            .map_err(StartError::InputEncode)?;
        let run = match self.start_as(W::NAME, input.clone(), options.clone(), false).await {
            // Shutting down: journaled for another process to run.
            Err(StartError::Shutdown) => return self.inner.client.start_encoded::<W>(input, &options).await,
            other => other?,
        };
        Ok(RunHandle::new(self.inner.client.clone(), run))
    }

    /// Starts a workflow by name with a JSON input, checking the input
    /// against the workflow's input type before anything is journaled.
    pub async fn start_by_name(
        &self,
        workflow: &str,
        input_json: &serde_json::Value,
        options: StartOptions,
    ) -> Result<RunId, StartError> {
        let input = Payload::encode(input_json)
            .and_then(|p| p.within(self.inner.max_payload, "workflow input"))
            .map_err(StartError::InputEncode)?;
        match self.start_as(workflow, input, options.clone(), true).await {
            // Shutting down: journaled for a live worker to run.
            Err(StartError::Shutdown) => self.inner.client.start_by_name(workflow, input_json, options).await,
            other => other,
        }
    }

    /// Starts through the engine; a taken id is resolved per `options`.
    async fn start_as(
        &self,
        workflow: &str,
        input: Payload,
        options: StartOptions,
        check_input: bool,
    ) -> Result<RunId, StartError> {
        for _ in 0..8 {
            let request = StartRequest {
                workflow: workflow.to_owned(),
                workflow_id: options.workflow_id.clone(),
                input: input.clone(),
                check_input,
                reuse: options.reuse,
                execution_timeout: options.execution_timeout,
            };
            let (reply, rx) = oneshot::channel();
            self.inner.tx.send(Command::Start(request, reply)).map_err(|_| StartError::Shutdown)?;
            match rx.await.map_err(|_| StartError::Shutdown)? {
                Err(StartError::DuplicateWorkflowId { workflow_id, existing }) => {
                    match self.inner.client.resolve_running(workflow, &workflow_id, existing, &options).await? {
                        Some(Started::Attached(run) | Started::New(run)) => return Ok(run),
                        None => continue,
                    }
                }
                other => return other,
            }
        }
        Err(StartError::Journal(JournalError::Backend(format!(
            "the workflow id of {workflow} kept changing hands; the start gave up"
        ))))
    }

    /// The client calls of this runtime (they are also its own methods).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Sends a signal to a run's durable mailbox, by run id or workflow id
    /// (a chain: its live tip). Fails for a missing or ended run.
    pub async fn signal<T: Serialize>(
        &self,
        target: impl Into<RunRef>,
        name: &str,
        body: &T,
    ) -> Result<(), SignalSendError> {
        self.inner.client.signal(target, name, body).await
    }

    /// Sends a signal at most once per chain, named by `delivery_id` (see
    /// [`Client::signal_with_id`]).
    pub async fn signal_with_id<T: Serialize>(
        &self,
        target: impl Into<RunRef>,
        name: &str,
        body: &T,
        delivery_id: &str,
    ) -> Result<SignalDelivery, SignalSendError> {
        self.inner.client.signal_with_id(target, name, body, delivery_id).await
    }

    /// Cancels a run, by run id or workflow id (a chain: its live tip),
    /// wherever it runs; it ends in the `Cancelled` state, and so do its
    /// running descendants.
    pub async fn cancel(&self, target: impl Into<RunRef>, reason: Option<String>) -> Result<(), CancelError> {
        self.inner.client.cancel(target, reason).await
    }

    /// Waits up to `timeout` for a run to end (by run id or workflow id; a
    /// chain: its last run), whichever process ends it. A timeout too large
    /// to count from now (`Duration::MAX`) waits for as long as it takes.
    pub async fn await_outcome(&self, target: impl Into<RunRef>, timeout: Duration) -> Result<RunOutcome, AwaitError> {
        self.inner.client.await_outcome(target, timeout).await
    }

    /// The run's row (by run id or workflow id: the chain's first run).
    pub async fn get_run(&self, target: impl Into<RunRef>) -> Result<RunInfo, JournalError> {
        self.inner.client.get_run(target).await
    }

    /// The run's history (by run id or workflow id: the chain's first run).
    pub async fn history(&self, target: impl Into<RunRef>) -> Result<Arc<[HistoryEvent]>, JournalError> {
        self.inner.client.history(target).await
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        self.inner.client.journal()
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
