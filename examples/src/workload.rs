//! The fault suite's workload (`examples/tests/fault_*.rs`, run by
//! `fault_worker`): workflows that use every kind of effect — activities,
//! durable timers, signal waits, child runs, continue-as-new — over one
//! activity, [`record()`], that writes each of its executions to an
//! *oracle table* in its own transaction. Comparing that table with the
//! journal shows what really ran against what the histories say ran.
//!
//! Run `i` of a load is [`plan(i)`](plan): its workflow id, its kind and
//! size, and the result it must end with whatever faults hit it.

use std::sync::OnceLock;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{ErasedWorkflow, RuntimeBuilder, StartError};
use sqlx::PgPool;

/// Creates the oracle table: one row per execution of [`record()`]
/// (successful or not, as long as its insert committed), keyed by the
/// step's [`Step::key`].
pub const CREATE_ORACLE: &str = "CREATE TABLE IF NOT EXISTS fault_oracle (\
     key text NOT NULL, \
     pid integer NOT NULL, \
     at timestamptz NOT NULL DEFAULT now())";

/// The name of the signal [`relay()`] waits for.
pub const ITEM: &str = "item";

static ORACLE: OnceLock<PgPool> = OnceLock::new();

/// Gives [`record()`] the pool it writes the oracle table through; the
/// first pool installed stays.
pub fn install_oracle(pool: PgPool) {
    let _ = ORACLE.set(pool);
}

/// One activity step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Unique over a load: `<workflow id>/<step>`.
    pub key: String,
    /// What the step computes on.
    pub value: u64,
}

/// What [`record()`] returns for `value`.
pub fn step_output(value: u64) -> u64 {
    value * 3 + 1
}

/// Records this execution in the oracle table, then returns
/// [`step_output`] of the value. It holds its result a little after the
/// insert commits, so a process killed in that window leaves an execution
/// the journal never hears of (a duplicate when the step runs again).
#[activity(retry(max_attempts = 40, initial = "100ms", max = "1s"))]
pub async fn record(step: Step) -> Result<u64, ActivityError> {
    let Some(pool) = ORACLE.get() else {
        return Err(ActivityError::non_retryable("no oracle pool installed in this process"));
    };
    sqlx::query("INSERT INTO fault_oracle (key, pid) VALUES ($1, $2)")
        .bind(&step.key)
        .bind(i32::try_from(std::process::id()).unwrap_or(-1))
        .execute(pool)
        .await
        .retryable()?;
    tokio::time::sleep(Duration::from_millis(step.value % 5 * 40)).await;
    Ok(step_output(step.value))
}

/// Input of [`chores()`] and [`fan_out()`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Prefix of the step keys.
    pub id: String,
    /// Steps ([`chores()`]) or children ([`fan_out()`]).
    pub size: u32,
}

/// `size` activity steps, each followed by a short durable timer; returns
/// the sum of their outputs.
#[workflow]
pub async fn chores(ctx: &WorkflowContext, job: Job) -> Result<u64, WorkflowError> {
    let mut total = 0;
    for i in 0..job.size {
        total += ctx.activity(record, Step { key: format!("{}/{i}", job.id), value: u64::from(i) }).await?;
        ctx.sleep(millis(150 + 150 * u64::from(i % 3))).await;
    }
    Ok(total)
}

/// Starts `size` [`chores()`] children of two steps each in its first
/// step, records its size, awaits the children in order, then records
/// their sum in a last step; returns the sum plus both steps' outputs.
///
/// The fault workers start their runs again after every restart, so some
/// starts are refused as duplicates; the children are started in the first
/// step so that the suite checks such a start leaves no child behind.
#[workflow]
pub async fn fan_out(ctx: &WorkflowContext, job: Job) -> Result<u64, WorkflowError> {
    let mut children = Vec::new();
    for c in 0..job.size {
        let child = Job { id: format!("{}/child-{c}", job.id), size: 2 };
        children.push(ctx.start_child(chores, child).key(format!("child-{c}")).await?);
    }
    let first = ctx.activity(record, Step { key: format!("{}/size", job.id), value: u64::from(job.size) }).await?;
    let mut total = 0;
    for child in children {
        total += child.result().await?;
    }
    let last = ctx.activity(record, Step { key: format!("{}/sum", job.id), value: total }).await?;
    Ok(first + total + last)
}

/// What [`relay()`] carries from one run of its chain to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relay {
    /// Prefix of the step keys.
    pub id: String,
    /// Signals to receive in all.
    pub signals: u32,
    /// Signals received so far.
    pub received: u32,
    /// Sum of the step outputs so far.
    pub total: u64,
}

/// The body of an [`ITEM`] signal. Each send carries its own body, so a
/// body seen twice in the journal is one signal delivered twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Item {
    /// The workflow id of the chain it is sent to.
    pub run: String,
    /// Which of the chain's signals it is, from 0.
    pub index: u32,
    /// Which try at sending that signal (a send that failed and did not
    /// land is tried again with the next number).
    pub attempt: u32,
}

/// Waits for one [`ITEM`] signal, records its index in a step, and
/// continues as new until `signals` have arrived; returns the sum of the
/// step outputs.
#[workflow]
pub async fn relay(ctx: &WorkflowContext, state: Relay) -> Result<u64, WorkflowError> {
    let item: Item = ctx.signal(ITEM).await?;
    let key = format!("{}/signal-{}", state.id, state.received);
    let out = ctx.activity(record, Step { key, value: u64::from(item.index) }).await?;
    let next = Relay { received: state.received + 1, total: state.total + out, ..state };
    if next.received >= next.signals {
        return Ok(next.total);
    }
    ctx.continue_as_new(next).await
}

/// Registers the workload's workflows and activity.
pub fn register(builder: RuntimeBuilder) -> RuntimeBuilder {
    builder.workflow(chores).workflow(fan_out).workflow(relay).activity(record)
}

/// The workload's workflows, for replaying their histories.
pub fn workflows() -> Vec<ErasedWorkflow> {
    vec![ErasedWorkflow::of::<chores>(), ErasedWorkflow::of::<fan_out>(), ErasedWorkflow::of::<relay>()]
}

/// Which workflow a planned run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`chores()`]: activities and timers.
    Chores,
    /// [`relay()`]: signals and continue-as-new.
    Relay,
    /// [`fan_out()`]: child runs.
    FanOut,
}

/// One run of a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its index in the load.
    pub index: u32,
    /// Its workflow id (the root of its chain, for a relay).
    pub workflow_id: String,
    /// Its workflow.
    pub kind: Kind,
    /// Steps, signals or children.
    pub size: u32,
}

/// Run `index` of a load: the kinds take turns, sizes vary.
pub fn plan(index: u32) -> Planned {
    let (kind, size) = match index % 3 {
        0 => (Kind::Chores, 2 + index % 3),
        1 => (Kind::Relay, 2 + index % 2),
        _ => (Kind::FanOut, 2 + index % 2),
    };
    Planned { index, workflow_id: format!("load-{index}"), kind, size }
}

impl Planned {
    /// The result the run (the last run of its chain) must end with.
    pub fn expected(&self) -> u64 {
        let chores = |steps: u32| (0..steps).map(|i| step_output(u64::from(i))).sum::<u64>();
        match self.kind {
            // A relay's steps take the signal indices 0, 1, … in turn.
            Kind::Chores | Kind::Relay => chores(self.size),
            Kind::FanOut => {
                let children = u64::from(self.size) * chores(2);
                step_output(u64::from(self.size)) + children + step_output(children)
            }
        }
    }

    /// Signals the run waits for.
    pub fn signals(&self) -> u32 {
        if self.kind == Kind::Relay { self.size } else { 0 }
    }

    /// Starts the run on `runtime` (which must serve the workload).
    pub async fn start(&self, runtime: &Runtime) -> Result<RunId, StartError> {
        let id = self.workflow_id.clone();
        let job = Job { id: id.clone(), size: self.size };
        // A workload's workflow id names one run forever: a worker that
        // restarts starts its share again, and an id whose run already
        // ended must be refused then, not run a second time.
        let options = StartOptions::id(id.clone()).reuse(IdReuse::Never);
        Ok(match self.kind {
            Kind::Chores => runtime.start(chores, job, options).await?.id(),
            Kind::FanOut => runtime.start(fan_out, job, options).await?.id(),
            Kind::Relay => {
                let state = Relay { id, signals: self.size, received: 0, total: 0 };
                runtime.start(relay, state, options).await?.id()
            }
        })
    }
}
