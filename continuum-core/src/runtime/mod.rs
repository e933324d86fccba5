//! The runtime: on tokio, an engine task (which also fires due timers), an
//! activity worker pool and a watcher of runs that end elsewhere, and the
//! client API (`start`, `signal`, `cancel`, `await_outcome`).

mod builder;
mod engine_loop;
mod handle;
mod options;
mod remote_outcomes;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use self::builder::RuntimeBuilder;
pub use self::handle::{RunHandle, decode_outcome};
pub use self::options::StartOptions;
use self::remote_outcomes::recorded_outcome_of;
pub use self::worker::WorkerConfig;
use crate::engine::{EngineStats, Outcomes, RunOutcome, StartRequest};
use crate::error::{AwaitError, CancelError, JournalError, SignalSendError, StartError};
use crate::event::HistoryEvent;
use crate::ids::RunId;
use crate::journal::{ActivityTask, AttemptResult, Journal, MailboxSignal, RunInfo, RunStatus, TaskOutcome};
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
        RuntimeBuilder::new()
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
        Ok(RunHandle::new(self.clone(), run))
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
    /// A timeout too large to count from now (`Duration::MAX`) waits for
    /// as long as it takes.
    pub async fn await_outcome(&self, run: RunId, timeout: Duration) -> Result<RunOutcome, AwaitError> {
        let deadline = tokio::time::Instant::now().checked_add(timeout);
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
            let waited = match deadline {
                Some(deadline) => tokio::time::timeout_at(deadline, wait).await,
                None => Ok(wait.await),
            };
            match waited {
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
