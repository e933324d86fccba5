//! A synchronous test harness for Continuum workflows.
//!
//! [`TestEnv`] runs the real engine over an in-memory journal on a virtual
//! clock, inside its own single-threaded executor: `start` returns once the
//! run is waiting on something only the test can provide (time, a signal),
//! activities run inline (or as mocks), and [`TestEnv::advance`] fires due
//! timers instantly. Golden histories ([`golden`]) pin what a workflow
//! journals and replay it against new code; paranoid mode re-replays every
//! run that ends and fails the test on any difference.
//!
//! Use it from plain `#[test]` functions (it owns its executor).
//!
//! For journal crates, two optional features: `postgres` (module
//! `postgres`: a throwaway PostgreSQL database per test) and `conformance`
//! (module `conformance`: the behaviour suite every journal runs, one
//! `conformance_tests!` line per journal).
//!
//! ```
//! use continuum::prelude::*;
//! use continuum_testkit::TestEnv;
//!
//! #[activity]
//! async fn greet(name: String) -> Result<String, ActivityError> {
//!     Ok(format!("hello {name}"))
//! }
//!
//! #[workflow]
//! async fn hello(ctx: &WorkflowContext, name: String) -> Result<String, WorkflowError> {
//!     ctx.sleep(hours(1)).await;
//!     Ok(ctx.activity(greet, name).await?)
//! }
//!
//! let mut env = TestEnv::builder().workflow(hello).activity(greet).build();
//! let run = env.start(hello, "ada".to_string());
//! assert!(env.result(&run).is_none()); // waiting on the timer
//! env.advance(hours(1));
//! assert_eq!(env.result(&run).unwrap().unwrap(), "hello ada");
//! ```

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod faults;
pub mod golden;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "conformance")]
pub mod runner;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use continuum_core::engine::replay_history;
use continuum_core::journal::{IdReuse, Journal, RunInfo};
use continuum_core::runtime::decode_outcome;
use continuum_core::runtime::worker::{WorkerConfig, execute_attempt};
use continuum_core::workflow::{ActivityRef, WorkflowRef};
use continuum_core::{
    Activity, ActivityError, ActivityOptions, AwaitError, CancelError, Clock, Engine, EngineConfig, ErasedActivity,
    HistoryEvent, InMemoryJournal, JournalError, Payload, Registry, RunId, RunOutcome, SignalSendError, StartError,
    StartRequest, VirtualClock, Workflow,
};
use serde::Serialize;

pub use crate::golden::{GoldenError, read_history, replay, to_golden, write_golden};

/// Builds a [`TestEnv`].
#[derive(Default)]
pub struct TestEnvBuilder {
    registry: Registry,
    paranoid: bool,
    engine: EngineConfig,
}

impl TestEnvBuilder {
    /// Registers a workflow.
    pub fn workflow<W: Workflow>(mut self, _workflow: impl WorkflowRef<W>) -> Self {
        self.registry.register_workflow::<W>();
        self
    }

    /// Registers an older version of a workflow (see
    /// `Registry::register_workflow_version`).
    pub fn workflow_version<W: Workflow>(mut self, _workflow: impl WorkflowRef<W>) -> Self {
        self.registry.register_workflow_version::<W>();
        self
    }

    /// Registers an activity; it runs inline.
    pub fn activity<A: Activity>(mut self, _activity: impl ActivityRef<A>) -> Self {
        self.registry.register_activity::<A>();
        self
    }

    /// Replaces activity `A` with `f` (registering it if needed). The mock
    /// keeps `A`'s retry policy and timeout.
    pub fn mock<A, F>(mut self, _activity: impl ActivityRef<A>, f: F) -> Self
    where
        A: Activity,
        F: Fn(A::Input) -> Result<A::Output, ActivityError> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let run: continuum_core::workflow::ActivityFn = Arc::new(move |input: Payload| {
            let f = f.clone();
            Box::pin(async move {
                let input: A::Input = input.decode()?;
                let out = f(input)?;
                Ok(Payload::encode(&out)?)
            })
        });
        self.registry.insert_activity(ErasedActivity::from_fn(A::NAME, A::options(), run));
        self
    }

    /// Paranoid mode: every run that ends is replayed again from its
    /// history, and any difference fails the test.
    pub fn paranoid(mut self, on: bool) -> Self {
        self.paranoid = on;
        self
    }

    /// Engine settings (e.g. a tiny live-run bound to exercise eviction).
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// Builds the environment.
    pub fn build(self) -> TestEnv {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("the testkit could not create its executor: {e}"));
        let clock = VirtualClock::new();
        let journal = Arc::new(InMemoryJournal::with_clock(Arc::new(clock.clone())));
        let registry = Arc::new(self.registry);
        let max_output_bytes = Some(self.engine.max_payload_bytes);
        let engine = Engine::new(journal.clone(), Arc::new(clock.clone()), registry.clone(), self.engine);
        TestEnv {
            rt,
            clock,
            journal,
            registry,
            engine,
            paranoid: self.paranoid,
            checked: Vec::new(),
            worker: WorkerConfig { skip_backoff: true, max_output_bytes, ..WorkerConfig::default() },
        }
    }
}

/// A handle to a run started in a [`TestEnv`].
pub struct TestRun<W: Workflow> {
    id: RunId,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> Clone for TestRun<W> {
    fn clone(&self) -> Self {
        Self { id: self.id, _workflow: PhantomData }
    }
}

impl<W: Workflow> std::fmt::Debug for TestRun<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestRun({}, {})", W::NAME, self.id)
    }
}

impl<W: Workflow> TestRun<W> {
    /// The run id.
    pub fn id(&self) -> RunId {
        self.id
    }
}

/// The synchronous harness. See the crate docs.
pub struct TestEnv {
    rt: tokio::runtime::Runtime,
    clock: VirtualClock,
    journal: Arc<InMemoryJournal>,
    registry: Arc<Registry>,
    engine: Engine,
    paranoid: bool,
    checked: Vec<RunId>,
    worker: WorkerConfig,
}

impl TestEnv {
    /// A builder.
    pub fn builder() -> TestEnvBuilder {
        TestEnvBuilder::default()
    }

    /// The virtual clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<InMemoryJournal> {
        &self.journal
    }

    /// The engine (for its counters).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Starts `W` and runs it until it waits on time or a signal (or ends).
    /// Panics if the start is rejected; see [`TestEnv::try_start`].
    pub fn start<W: Workflow>(&mut self, workflow: impl WorkflowRef<W>, input: W::Input) -> TestRun<W> {
        self.try_start(workflow, input, None).unwrap_or_else(|e| panic!("start of `{}` failed: {e}", W::NAME))
    }

    /// Starts `W` with an optional workflow id.
    pub fn try_start<W: Workflow>(
        &mut self,
        _workflow: impl WorkflowRef<W>,
        input: W::Input,
        workflow_id: Option<String>,
    ) -> Result<TestRun<W>, StartError> {
        let input = Payload::encode(&input).map_err(StartError::InputEncode)?;
        let req = StartRequest {
            workflow: W::NAME.to_owned(),
            workflow_id,
            input,
            check_input: false,
            reuse: IdReuse::default(),
            execution_timeout: None,
        };
        let id = self.rt.block_on(self.engine.start(req))?;
        self.drive();
        Ok(TestRun { id, _workflow: PhantomData })
    }

    /// Starts a workflow by name with a JSON input (checked against the
    /// workflow's input type before anything is journaled).
    pub fn start_by_name(&mut self, workflow: &str, input: &serde_json::Value) -> Result<RunId, StartError> {
        let input = Payload::encode(input).map_err(StartError::InputEncode)?;
        let req = StartRequest {
            workflow: workflow.to_owned(),
            workflow_id: None,
            input,
            check_input: true,
            reuse: IdReuse::default(),
            execution_timeout: None,
        };
        let id = self.rt.block_on(self.engine.start(req))?;
        self.drive();
        Ok(id)
    }

    /// Moves virtual time forward, firing every timer that falls due, in
    /// order, and running whatever they unblock.
    pub fn advance(&mut self, by: Duration) {
        let target = self.clock.now() + chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        loop {
            match self.engine.next_timer_due() {
                Some(at) if at <= target => {
                    self.clock.advance_to(at);
                    self.drive();
                }
                _ => break,
            }
        }
        self.clock.advance_to(target);
        self.drive();
    }

    /// Puts a signal in a run's mailbox and runs what it unblocks.
    pub fn inject_signal<T: Serialize>(&mut self, run: RunId, name: &str, body: &T) -> Result<(), SignalSendError> {
        let payload = Payload::encode(body).map_err(SignalSendError::Encode)?;
        // To the live tip of a `continue_as_new` chain, like the runtime.
        let run = self.rt.block_on(self.journal.chain_tip(run)).map_err(|e| match e {
            JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
            other => SignalSendError::Journal(other),
        })?;
        let signal = self.rt.block_on(self.journal.send_signal(run, name, payload)).map_err(|e| match e {
            JournalError::RunNotFound(r) => SignalSendError::RunNotFound(r),
            JournalError::RunTerminal { run, status } => SignalSendError::RunTerminal { run, status },
            other => SignalSendError::Journal(other),
        })?;
        self.rt.block_on(self.engine.on_signal(run, signal));
        self.drive();
        Ok(())
    }

    /// Cancels a run.
    pub fn cancel(&mut self, run: RunId) -> Result<(), CancelError> {
        let r = self.rt.block_on(self.engine.cancel(run, None));
        self.drive();
        r
    }

    /// The run's output if it has ended, `None` while it runs.
    pub fn result<W: Workflow>(&mut self, run: &TestRun<W>) -> Option<Result<W::Output, AwaitError>> {
        self.outcome(run.id).map(|o| decode_outcome::<W>(run.id, o))
    }

    /// The run's outcome if it has ended (for a `continue_as_new` chain,
    /// its last run's).
    pub fn outcome(&self, run: RunId) -> Option<RunOutcome> {
        let tip = self.rt.block_on(self.journal.chain_tip(run)).unwrap_or(run);
        let history = self.history(tip);
        history.last().and_then(|e| RunOutcome::from_event(&e.event))
    }

    /// The run's row.
    pub fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError> {
        self.rt.block_on(self.journal.run_info(run))
    }

    /// The run's history.
    pub fn history(&self, run: RunId) -> Vec<HistoryEvent> {
        self.rt.block_on(self.journal.history(run)).map(|h| h.to_vec()).unwrap_or_default()
    }

    /// The run's history in the golden-file format.
    pub fn golden(&self, run: RunId) -> String {
        to_golden(&self.history(run))
    }

    /// Forgets every live run, as if the process had crashed: the next
    /// event for a run replays it from the journal. The new engine has
    /// the same configuration as the one it replaces (limits included),
    /// so a crash test never passes because a limit was lifted.
    pub fn crash(&mut self) {
        let journal: Arc<dyn Journal> = self.journal.clone();
        let config = *self.engine.config();
        self.engine = Engine::new(journal, Arc::new(self.clock.clone()), self.registry.clone(), config);
        if let Err(e) = self.rt.block_on(self.engine.recover()) {
            panic!("recovery failed: {e}");
        }
        self.drive();
    }

    /// Runs inline activities and due timers until nothing more can
    /// happen without the test acting.
    fn drive(&mut self) {
        let (journal, registry, worker) = (self.journal.clone(), self.registry.clone(), self.worker);
        let engine = &mut self.engine;
        self.rt.block_on(async {
            loop {
                let claim = match journal.claim_tasks(usize::MAX, worker.task_lease, None).await {
                    Ok(c) => c,
                    Err(e) => panic!("claim failed: {e}"),
                };
                let idle = claim.tasks.is_empty() && claim.settled.is_empty();
                for outcome in claim.settled {
                    engine.on_task(outcome).await;
                }
                for task in claim.tasks {
                    let result = execute_attempt(&registry, &task, &worker).await;
                    match journal.finish_attempt(&task, result).await {
                        Ok(Some(outcome)) => engine.on_task(outcome).await,
                        Ok(None) => {}
                        Err(e) => panic!("finishing an inline attempt failed: {e}"),
                    }
                }
                if idle && engine.fire_due_timers().await == 0 {
                    break;
                }
            }
        });
        if self.paranoid {
            self.check_paranoid();
        }
    }

    fn check_paranoid(&mut self) {
        let runs = self.rt.block_on(async {
            let mut ended = Vec::new();
            // Every run the journal knows that ended and was not checked.
            for id in self.journal.all_runs_for_tests() {
                if !self.checked.contains(&id)
                    && let Ok(info) = self.journal.run_info(id).await
                    && info.status.is_terminal()
                {
                    ended.push(info);
                }
            }
            ended
        });
        for info in runs {
            self.checked.push(info.id);
            let Some(workflow) = self.registry.workflow(&info.workflow) else { continue };
            let history: Arc<[HistoryEvent]> = self.history(info.id).into();
            if let Err(failure) = replay_history(workflow, info.id, history) {
                panic!("paranoid replay of run {} (`{}`) differs from its history:\n{failure}", info.id, info.workflow);
            }
        }
    }
}

/// Options an activity mock keeps (re-exported for custom mocks).
pub type MockOptions = ActivityOptions;
