//! Building a [`Runtime`]: the journal, the clock, the workflows and
//! activities it serves, and the engine and worker settings; `start`
//! recovers the journal's runs and spawns the engine loop, the worker
//! pool and the outcome watcher.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::warn;

use super::engine_loop::engine_loop;
use super::readiness::ReadinessCell;
use super::remote_outcomes::watch_remote_outcomes;
use super::worker::{self, WorkerConfig};
use super::{Client, Inner, Runtime};
use crate::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineConfig, LocalDispatch};
use crate::error::JournalError;
use crate::journal::{InMemoryJournal, Journal};
use crate::registry::Registry;
use crate::workflow::{Activity, ActivityRef, Workflow, WorkflowRef};

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    journal: Option<Arc<dyn Journal>>,
    clock: Arc<dyn Clock>,
    registry: Registry,
    engine: EngineConfig,
    worker: WorkerConfig,
}

impl RuntimeBuilder {
    pub(super) fn new() -> Self {
        Self {
            journal: None,
            clock: Arc::new(SystemClock),
            registry: Registry::new(),
            engine: EngineConfig::default(),
            worker: WorkerConfig::default(),
        }
    }

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
    /// the journal holds that has not ended (on a journal several
    /// processes share, the runs no live process serves), then serves.
    ///
    /// While the journal is unavailable ([`JournalError::Unavailable`]: a
    /// database restarting, a connection reset) recovery is retried with
    /// backoff, for as long as it takes; wrap the call in a timeout to
    /// bound it. Any other error is returned at once.
    pub async fn start(self) -> Result<Runtime, JournalError> {
        let journal = self.journal.unwrap_or_else(|| Arc::new(InMemoryJournal::with_clock(self.clock.clone())));
        let registry = Arc::new(self.registry);
        let max_payload = self.engine.max_payload_bytes;
        let mut worker_config = self.worker;
        worker_config.max_output_bytes.get_or_insert(max_payload);
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
        // A database restarting while this process starts is ridden out the
        // way a running process rides it out: retried with backoff. Any
        // other failure (a schema that is not there, bad credentials) is
        // returned at once.
        let mut backoff = Duration::from_millis(100);
        loop {
            match engine.recover().await {
                Ok(_) => break,
                Err(JournalError::Unavailable(detail)) => {
                    warn!(error = %detail, retry_in = ?backoff, "the journal is unavailable while starting; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (local_tx, local_rx) = mpsc::unbounded_channel();
        for task in engine.take_dispatch() {
            let _ = local_tx.send(task);
        }
        let readiness = ReadinessCell::new();
        let (pool_tx, pool_rx) = mpsc::unbounded_channel();
        let engine_task =
            tokio::spawn(engine_loop(engine, rx, self.clock.clone(), local_tx, wakeups, readiness.clone()));
        let worker_task = tokio::spawn(worker::pool_loop(
            journal.clone(),
            registry,
            self.clock,
            worker_config,
            local_rx,
            in_hand,
            tx.clone(),
            pool_rx,
        ));
        let watch_task = tokio::spawn(watch_remote_outcomes(journal.clone(), outcomes.clone()));
        let client = Client::for_runtime(journal, max_payload, outcomes, tx.clone());
        Ok(Runtime {
            inner: Arc::new(Inner {
                tx,
                max_payload,
                client,
                readiness,
                pool: pool_tx,
                shutdown: tokio::sync::Mutex::new(None),
                tasks: vec![engine_task, worker_task, watch_task],
            }),
        })
    }
}
