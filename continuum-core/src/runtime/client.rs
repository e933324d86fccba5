//! The client: starts, signals, cancels, awaits and reads runs that
//! workers run — from a process that hosts no workflow and owns no run (a
//! web handler, a script, an operator's tool), or from a [`Runtime`]
//! (which offers the same calls through its own client).
//!
//! A run a client starts is journaled with its first event only and let go
//! of at once: the journal tells live workers, and one that serves the
//! workflow adopts it and runs it. The client never holds it, so a client
//! that exits right after starting leaves nothing stalled.
//!
//! [`Runtime`]: super::Runtime

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::Command;
use super::handle::RunHandle;
use super::options::{IfRunning, RunRef, SignalDelivery, StartOptions};
use super::remote_outcomes::{recorded_outcome_of, watch_remote_outcomes};
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineConfig, Outcomes};
use crate::error::{AwaitError, CancelError, JournalError, SignalSendError, StartError};
use crate::event::{Event, HistoryEvent};
use crate::ids::{RunId, VersionHash};
use crate::journal::{CreateRun, Journal, Lease, RunAppend, RunInfo, RunStatus, RunWrite};
use crate::limits::DEFAULT_MAX_PAYLOAD;
use crate::outcome::RunOutcome;
use crate::payload::Payload;
use crate::registry::Registry;
use crate::workflow::{Workflow, WorkflowRef};

/// A handle on a journal that hosts no workflow and owns no run: start,
/// signal, cancel, await and read runs that worker processes run.
/// Cloning shares it.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use continuum_core::{Client, InMemoryJournal, Journal};
/// # async fn demo(journal: Arc<dyn Journal>) -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(journal);
/// let run = client.start_by_name("onboarding", &serde_json::json!({"user": "ada"}), Default::default()).await?;
/// client.signal(run, "approved", &true).await?;
/// let outcome = client.await_outcome(run, std::time::Duration::from_secs(30)).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    journal: Arc<dyn Journal>,
    max_payload: usize,
    outcomes: Arc<Outcomes>,
    /// The runtime's engine, for a runtime's own client: cancels go to it
    /// (it may hold the run live) and it is told of signals at once.
    engine: Option<mpsc::UnboundedSender<Command>>,
    /// A standalone client's cancels: an engine that hosts nothing.
    canceller: Option<Mutex<Engine>>,
    watcher: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("standalone", &self.inner.engine.is_none()).finish_non_exhaustive()
    }
}

/// How a start resolved a workflow id held by a running chain.
pub(super) enum Started {
    New(RunId),
    Attached(RunId),
}

impl Client {
    /// A client on `journal` (the payload cap is the default 8 MiB). Call
    /// from within a tokio runtime: it watches, a few times a second, the
    /// runs it is asked to await.
    pub fn new(journal: Arc<dyn Journal>) -> Self {
        Self::with_max_payload(journal, DEFAULT_MAX_PAYLOAD)
    }

    /// A client refusing payloads larger than `max_payload` bytes of JSON
    /// (keep it the workers' `EngineConfig::max_payload_bytes`).
    pub fn with_max_payload(journal: Arc<dyn Journal>, max_payload: usize) -> Self {
        let outcomes = Arc::new(Outcomes::default());
        let watcher = tokio::spawn(watch_remote_outcomes(journal.clone(), outcomes.clone()));
        let canceller = canceller(&journal, max_payload);
        Self {
            inner: Arc::new(Inner {
                journal,
                max_payload,
                outcomes,
                engine: None,
                canceller: Some(Mutex::new(canceller)),
                watcher: Some(watcher),
            }),
        }
    }

    /// A runtime's own client: its engine's outcomes and command channel.
    pub(super) fn for_runtime(
        journal: Arc<dyn Journal>,
        max_payload: usize,
        outcomes: Arc<Outcomes>,
        engine: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                journal,
                max_payload,
                outcomes,
                engine: Some(engine),
                canceller: None,
                watcher: None,
            }),
        }
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.inner.journal
    }

    /// Encodes a payload under the cap.
    fn encode<T: Serialize + ?Sized>(&self, value: &T, what: &str) -> Result<Payload, crate::payload::PayloadError> {
        Payload::encode(value).and_then(|p| p.within(self.inner.max_payload, what))
    }

    /// Starts workflow `W` with `input`, for a worker to run: the run is
    /// journaled with its first event and let go of at once; a live worker
    /// that serves `W`'s version adopts it (woken by the journal), or the
    /// first one that starts. `options` decides what happens if the
    /// workflow id is taken.
    pub async fn start<W: Workflow>(
        &self,
        _workflow: impl WorkflowRef<W>,
        input: W::Input,
        options: StartOptions,
    ) -> Result<RunHandle<W>, StartError> {
        let input = self.encode(&input, std::any::type_name::<W::Input>()).map_err(StartError::InputEncode)?;
        let run = self.enqueue(W::NAME, W::VERSION, input, &options, None).await?;
        Ok(RunHandle::new(self.clone(), run))
    }

    /// [`start`](Self::start) with the input already encoded (a runtime
    /// shutting down hands its starts over this way).
    pub(super) async fn start_encoded<W: Workflow>(
        &self,
        input: Payload,
        options: &StartOptions,
    ) -> Result<RunHandle<W>, StartError> {
        let run = self.enqueue(W::NAME, W::VERSION, input, options, None).await?;
        Ok(RunHandle::new(self.clone(), run))
    }

    /// Starts a workflow by name with a JSON input, on the version live
    /// workers start new runs of it on. Without a live worker serving the
    /// workflow, nothing could check the input or run it:
    /// [`StartError::NoWorker`] lists what they serve.
    pub async fn start_by_name(
        &self,
        workflow: &str,
        input: &serde_json::Value,
        options: StartOptions,
    ) -> Result<RunId, StartError> {
        let input = self.encode(input, "workflow input").map_err(StartError::InputEncode)?;
        let served = self.inner.journal.served_versions(uuid::Uuid::nil()).await.map_err(StartError::Journal)?;
        let version = served.iter().filter(|s| s.workflow == workflow).max_by_key(|s| s.current).map(|s| s.version);
        let Some(version) = version else {
            let mut known: Vec<String> = served.into_iter().map(|s| s.workflow).collect();
            known.dedup();
            return Err(StartError::NoWorker { name: workflow.to_owned(), known });
        };
        self.enqueue(workflow, version, input, &options, None).await
    }

    /// Starts `W` under the workflow id of `options` unless a chain holding
    /// it is running, then puts a signal in the mailbox of whichever run
    /// holds the id — atomically with the start, so the new run's first
    /// step already finds it. Returns the run the signal went to.
    pub async fn signal_with_start<W: Workflow, T: Serialize>(
        &self,
        _workflow: impl WorkflowRef<W>,
        input: W::Input,
        options: StartOptions,
        signal: &str,
        body: &T,
    ) -> Result<RunHandle<W>, StartError> {
        let input = self.encode(&input, std::any::type_name::<W::Input>()).map_err(StartError::InputEncode)?;
        let body = self.encode(body, std::any::type_name::<T>()).map_err(StartError::InputEncode)?;
        let options = StartOptions { if_running: IfRunning::Attach, ..options };
        let run = self.enqueue(W::NAME, W::VERSION, input, &options, Some((signal, body))).await?;
        Ok(RunHandle::new(self.clone(), run))
    }

    /// Journals a new run no process holds, per `options`; with a signal,
    /// delivers it to the run that ends up holding the id.
    async fn enqueue(
        &self,
        workflow: &str,
        version: VersionHash,
        input: Payload,
        options: &StartOptions,
        signal: Option<(&str, Payload)>,
    ) -> Result<RunId, StartError> {
        let journal = &self.inner.journal;
        for _ in 0..8 {
            let run = RunId::new_random();
            let workflow_id = options.workflow_id.clone().unwrap_or_else(|| run.to_string());
            let now = chrono::Utc::now();
            let started = HistoryEvent {
                seq: 1,
                at: now,
                event: Event::RunStarted {
                    workflow: workflow.to_owned(),
                    version,
                    input: input.clone(),
                    parent: None,
                    continued_from: None,
                    deadline: options.execution_timeout.map(|t| crate::clock::add(now, t)),
                },
            };
            let write = RunWrite {
                create: Some(CreateRun { workflow_id: workflow_id.clone(), reuse: options.reuse }),
                append: RunAppend::events(Lease { run, token: 0 }, vec![started]),
            };
            let written = journal.commit(vec![write]).await.map_err(StartError::Journal)?.pop();
            let outcome = match written {
                Some(Ok(written)) => {
                    // Held by this client only until the signal is in.
                    if let Some((name, body)) = &signal {
                        journal.send_signal(run, name, body.clone()).await.map_err(StartError::Journal)?;
                    }
                    journal.release_run(&written.lease, Duration::ZERO).await.map_err(StartError::Journal)?;
                    Started::New(run)
                }
                Some(Err(JournalError::DuplicateWorkflowId { existing, .. })) => {
                    match self.resolve_running(workflow, &workflow_id, existing, options).await? {
                        Some(started) => started,
                        // The chain ended meanwhile (or was terminated): try
                        // the start again.
                        None => continue,
                    }
                }
                Some(Err(e)) => return Err(StartError::Journal(e)),
                None => return Err(StartError::Journal(JournalError::Backend("the journal answered no write".into()))),
            };
            return match outcome {
                Started::New(run) => Ok(run),
                Started::Attached(root) => {
                    if let Some((name, body)) = &signal {
                        match self.send_to_chain(root, name, body.clone()).await {
                            Ok(_) => {}
                            // Ended between the check and the send: start anew.
                            Err(SignalSendError::RunTerminal { .. }) => continue,
                            Err(e) => return Err(StartError::Journal(JournalError::Backend(e.to_string()))),
                        }
                    }
                    Ok(root)
                }
            };
        }
        Err(StartError::Journal(JournalError::Backend(format!(
            "workflow id of {workflow} kept changing hands; the start gave up"
        ))))
    }

    /// A start found `existing` holding the id. `Ok(None)`: try again (the
    /// chain ended meanwhile, or was just terminated).
    pub(super) async fn resolve_running(
        &self,
        workflow: &str,
        workflow_id: &str,
        existing: RunId,
        options: &StartOptions,
    ) -> Result<Option<Started>, StartError> {
        let duplicate = || StartError::DuplicateWorkflowId { workflow_id: workflow_id.to_owned(), existing };
        let journal = &self.inner.journal;
        let tip = journal.chain_tip(existing).await.map_err(StartError::Journal)?;
        let info = journal.run_info(tip).await.map_err(StartError::Journal)?;
        if info.status.is_terminal() {
            // The chain has ended: if the policy lets its id be used again,
            // it ended after the start was refused — try again; otherwise
            // the policy refused it, and there is nothing to attach to.
            return if options.reuse.allows(info.status) { Ok(None) } else { Err(duplicate()) };
        }
        match options.if_running {
            IfRunning::Refuse => Err(duplicate()),
            IfRunning::Attach if info.workflow != workflow => Err(StartError::WrongWorkflow {
                workflow_id: workflow_id.to_owned(),
                running: info.workflow,
                asked: workflow.to_owned(),
            }),
            IfRunning::Attach => Ok(Some(Started::Attached(existing))),
            IfRunning::Terminate => {
                let reason = format!("terminated: workflow id `{workflow_id}` started anew");
                match self.cancel(existing, Some(reason)).await {
                    Ok(()) | Err(CancelError::RunTerminal { .. }) => Ok(None),
                    Err(e) => Err(StartError::Journal(JournalError::Backend(e.to_string()))),
                }
            }
        }
    }

    /// The run a reference names: a run id as given, a workflow id as the
    /// root of the chain that holds it now.
    pub async fn resolve(&self, target: impl Into<RunRef>) -> Result<Option<RunId>, JournalError> {
        match target.into() {
            RunRef::Run(run) => Ok(Some(run)),
            RunRef::WorkflowId(id) => Ok(self.inner.journal.find_workflow_id(&id).await?.map(|info| info.id)),
        }
    }

    /// The run `target` names, or why there is none.
    async fn lookup(&self, target: RunRef) -> Result<RunId, Missing> {
        match self.resolve(target.clone()).await {
            Ok(Some(run)) => Ok(run),
            Ok(None) => Err(Missing::NotFound(target)),
            Err(e) => Err(Missing::Journal(e)),
        }
    }

    /// Sends a signal to a run's durable mailbox — by run id or workflow
    /// id; for a `continue_as_new` chain, to its live tip. Fails for a
    /// missing or ended run.
    pub async fn signal<T: Serialize>(
        &self,
        target: impl Into<RunRef>,
        name: &str,
        body: &T,
    ) -> Result<(), SignalSendError> {
        let payload = self.encode(body, std::any::type_name::<T>()).map_err(SignalSendError::Encode)?;
        let run = self.lookup(target.into()).await?;
        self.send_to_chain(run, name, payload).await.map(|_| ())
    }

    /// Sends a signal at most once: `delivery_id` names this delivery, and
    /// a signal with an id already delivered to the chain (any of its
    /// runs, even once it ended) is acknowledged with
    /// [`SignalDelivery::Duplicate`] and dropped — never consumed twice. For
    /// a sender that retries after an unknown outcome (a timeout, a
    /// crash): send again with the same id.
    ///
    /// An empty id, one over [`MAX_DELIVERY_ID_BYTES`](super::MAX_DELIVERY_ID_BYTES)
    /// or one with a NUL is refused with `JournalError::InvalidInput`.
    pub async fn signal_with_id<T: Serialize>(
        &self,
        target: impl Into<RunRef>,
        name: &str,
        body: &T,
        delivery_id: &str,
    ) -> Result<SignalDelivery, SignalSendError> {
        let invalid = |detail: &str| {
            SignalSendError::Journal(JournalError::InvalidInput { what: "signal delivery id", detail: detail.into() })
        };
        if delivery_id.is_empty() {
            return Err(invalid("is empty"));
        }
        if delivery_id.len() > super::MAX_DELIVERY_ID_BYTES {
            return Err(invalid(&format!("is over {} bytes", super::MAX_DELIVERY_ID_BYTES)));
        }
        if delivery_id.contains('\0') {
            return Err(invalid("contains a NUL character"));
        }
        let payload = self.encode(body, std::any::type_name::<T>()).map_err(SignalSendError::Encode)?;
        let run = self.lookup(target.into()).await?;
        let journal = &self.inner.journal;
        let mut run = run;
        loop {
            let tip = journal.chain_tip(run).await.map_err(|e| match e {
                JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
                other => SignalSendError::Journal(other),
            })?;
            match journal.send_signal_once(tip, name, payload.clone(), delivery_id).await {
                Ok(Some(signal)) => {
                    if let Some(engine) = &self.inner.engine {
                        let _ = engine.send(Command::Signal(tip, signal));
                    }
                    return Ok(SignalDelivery::Delivered);
                }
                Ok(None) => return Ok(SignalDelivery::Duplicate),
                // It continued between the two reads: follow it again.
                Err(JournalError::RunTerminal { status: RunStatus::Continued, .. }) => run = tip,
                Err(JournalError::RunNotFound(r)) => return Err(SignalSendError::RunNotFound(r)),
                Err(JournalError::RunTerminal { run, status }) => {
                    return Err(SignalSendError::RunTerminal { run, status });
                }
                Err(other) => return Err(SignalSendError::Journal(other)),
            }
        }
    }

    /// Puts a signal in the mailbox of the live tip of `run`'s chain.
    async fn send_to_chain(&self, run: RunId, name: &str, payload: Payload) -> Result<RunId, SignalSendError> {
        let journal = &self.inner.journal;
        let mut run = run;
        let (tip, signal) = loop {
            let tip = journal.chain_tip(run).await.map_err(|e| match e {
                JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
                other => SignalSendError::Journal(other),
            })?;
            match journal.send_signal(tip, name, payload.clone()).await {
                Ok(signal) => break (tip, signal),
                // It continued between the two reads: follow it again.
                Err(JournalError::RunTerminal { status: RunStatus::Continued, .. }) => run = tip,
                Err(JournalError::RunNotFound(r)) => return Err(SignalSendError::RunNotFound(r)),
                Err(JournalError::RunTerminal { run, status }) => {
                    return Err(SignalSendError::RunTerminal { run, status });
                }
                Err(other) => return Err(SignalSendError::Journal(other)),
            }
        };
        // The signal is durable now; telling the engine is only a wake-up
        // (after a shutdown there is none to tell: whoever adopts the run
        // reads its mailbox).
        if let Some(engine) = &self.inner.engine {
            let _ = engine.send(Command::Signal(tip, signal));
        }
        Ok(tip)
    }

    /// Cancels a run (by run id or workflow id; a chain at its live tip),
    /// wherever it runs: it ends cancelled, and so do its running
    /// descendants.
    pub async fn cancel(&self, target: impl Into<RunRef>, reason: Option<String>) -> Result<(), CancelError> {
        let run = self.lookup(target.into()).await?;
        match (&self.inner.engine, &self.inner.canceller) {
            (Some(engine), _) => {
                let (reply, rx) = oneshot::channel();
                if engine.send(Command::Cancel(run, reason.clone(), reply)).is_ok()
                    && let Ok(answer) = rx.await
                {
                    return answer;
                }
                // The runtime has shut down: cancel as a client that hosts
                // nothing does.
                canceller(&self.inner.journal, self.inner.max_payload).cancel(run, reason).await
            }
            (None, Some(canceller)) => canceller.lock().await.cancel(run, reason).await,
            (None, None) => Err(CancelError::Shutdown),
        }
    }

    /// Waits up to `timeout` for a run (by run id or workflow id; a chain's
    /// last run) to end, whichever process ends it. A timeout too large to
    /// count from now (`Duration::MAX`) waits for as long as it takes.
    pub async fn await_outcome(&self, target: impl Into<RunRef>, timeout: Duration) -> Result<RunOutcome, AwaitError> {
        let run = self.lookup(target.into()).await?;
        let deadline = tokio::time::Instant::now().checked_add(timeout);
        loop {
            let mut rx = self.inner.outcomes.subscribe(run);
            // Subscribed first, then checked: an outcome published in
            // between is seen by one or the other. Runs that end in other
            // processes are published by the outcome watcher.
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

    /// Waits up to `timeout` for a run of `W` to end and decodes its output.
    pub async fn result<W: Workflow>(
        &self,
        _workflow: impl WorkflowRef<W>,
        target: impl Into<RunRef>,
        timeout: Duration,
    ) -> Result<W::Output, AwaitError> {
        let run = self.lookup(target.into()).await?;
        let outcome = self.await_outcome(run, timeout).await?;
        super::handle::decode_outcome::<W>(run, outcome)
    }

    /// Decodes an output as `T` (for a run awaited by name).
    pub fn decode<T: DeserializeOwned>(run: RunId, outcome: RunOutcome) -> Result<T, AwaitError> {
        match outcome {
            RunOutcome::Completed(p) => p.decode().map_err(|error| AwaitError::Decode { run, error }),
            RunOutcome::Failed(failure) => Err(AwaitError::Failed { run, failure }),
            RunOutcome::Cancelled(reason) => Err(AwaitError::Cancelled { run, reason }),
        }
    }

    async fn recorded_outcome(&self, run: RunId) -> Result<Option<RunOutcome>, AwaitError> {
        recorded_outcome_of(self.inner.journal.as_ref(), run).await.map_err(|e| match e {
            JournalError::RunNotFound(r) => AwaitError::RunNotFound(r),
            other => AwaitError::Journal(other),
        })
    }

    /// The row of a run (by run id or workflow id: the chain's first run).
    pub async fn get_run(&self, target: impl Into<RunRef>) -> Result<RunInfo, JournalError> {
        let target = target.into();
        match self.resolve(target.clone()).await? {
            Some(run) => self.inner.journal.run_info(run).await,
            None => Err(not_found(target)),
        }
    }

    /// The history of a run (by run id or workflow id: the chain's first
    /// run).
    pub async fn history(&self, target: impl Into<RunRef>) -> Result<Arc<[HistoryEvent]>, JournalError> {
        let target = target.into();
        match self.resolve(target.clone()).await? {
            Some(run) => self.inner.journal.history(run).await,
            None => Err(not_found(target)),
        }
    }
}

/// The journal's error for a reference that names no run.
/// An engine that hosts nothing, for cancels through the journal alone.
fn canceller(journal: &Arc<dyn Journal>, max_payload: usize) -> Engine {
    Engine::new(
        journal.clone(),
        Arc::new(SystemClock) as Arc<dyn Clock>,
        Arc::new(Registry::new()),
        EngineConfig { max_payload_bytes: max_payload, ..EngineConfig::default() },
    )
}

fn not_found(target: RunRef) -> JournalError {
    match target {
        RunRef::Run(run) => JournalError::RunNotFound(run),
        RunRef::WorkflowId(id) => JournalError::WorkflowIdNotFound(id),
    }
}

/// Why a reference named no run.
enum Missing {
    NotFound(RunRef),
    Journal(JournalError),
}

impl From<Missing> for SignalSendError {
    fn from(m: Missing) -> Self {
        match m {
            Missing::NotFound(RunRef::Run(run)) => SignalSendError::RunNotFound(run),
            Missing::NotFound(RunRef::WorkflowId(id)) => SignalSendError::WorkflowIdNotFound(id),
            Missing::Journal(e) => SignalSendError::Journal(e),
        }
    }
}

impl From<Missing> for CancelError {
    fn from(m: Missing) -> Self {
        match m {
            Missing::NotFound(RunRef::Run(run)) => CancelError::RunNotFound(run),
            Missing::NotFound(RunRef::WorkflowId(id)) => CancelError::WorkflowIdNotFound(id),
            Missing::Journal(e) => CancelError::Journal(e),
        }
    }
}

impl From<Missing> for AwaitError {
    fn from(m: Missing) -> Self {
        match m {
            Missing::NotFound(RunRef::Run(run)) => AwaitError::RunNotFound(run),
            Missing::NotFound(RunRef::WorkflowId(id)) => AwaitError::WorkflowIdNotFound(id),
            Missing::Journal(e) => AwaitError::Journal(e),
        }
    }
}
