//! The programs the runner generates, and the one workflow that runs them.
//!
//! A program is data — a list of [`Step`]s — interpreted by the
//! [`program()`] workflow, so any number of workflow shapes run through one
//! compiled body. Every step appends one [`Obs`] (what it observed) to the
//! run's trace, and the trace is the run's output: the reference model
//! (`model.rs`) predicts it from the program alone.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex};

use continuum::prelude::*;
use continuum::{ActivityErrorKind, SignalError};

/// One step of a generated program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Step {
    /// An activity that fails (retryably) `failures` times, then returns
    /// `value`.
    Activity {
        /// What it returns.
        value: u32,
        /// How many attempts fail first (fewer than its attempts allow).
        failures: u8,
    },
    /// An activity that fails for good on its first attempt.
    ActivityFails,
    /// An activity that panics on every attempt until its attempts are
    /// used up.
    ActivityPanics,
    /// A durable timer.
    Sleep {
        /// How long.
        ms: u16,
    },
    /// Waits for the next signal of a name the driver sends.
    Signal {
        /// The signal's name.
        name: SignalName,
    },
    /// Waits, with a timeout far longer than the test, for a signal the
    /// driver sends.
    SignalWithTimeout {
        /// The signal's name.
        name: SignalName,
    },
    /// Waits briefly for a signal nobody sends: times out.
    SignalTimesOut {
        /// Makes the name unique within the program.
        quiet: u16,
    },
    /// A child run of `steps` (no signal waits, no continue-as-new);
    /// observes its trace, or that it failed.
    Child {
        /// The child's program.
        steps: Vec<Step>,
    },
    /// Ends the run and continues in a fresh one with the steps left.
    ContinueAsNew,
    /// An activity returning `value` that registers a compensation.
    Compensable {
        /// What it returns.
        value: u32,
    },
    /// Runs the pending compensations (most recent first).
    CompensateAll,
    /// `ctx.patched("p<id>")`.
    Patched {
        /// The patch id's number.
        id: u8,
    },
    /// Branches (activities and timers) awaited together with `join_all`.
    Join(Vec<Step>),
    /// A quick activity raced against a long timer with `select`.
    Select {
        /// What the activity returns.
        value: u32,
    },
    /// Ends the run with an error.
    Fail,
}

/// The names of the signals the driver sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SignalName {
    /// `"a"`.
    A,
    /// `"b"`.
    B,
}

impl SignalName {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalName::A => "a",
            SignalName::B => "b",
        }
    }

    /// The value of the `index`-th signal the driver sends with this name.
    pub fn value(self, index: u32) -> u32 {
        match self {
            SignalName::A => 1000 + index,
            SignalName::B => 2000 + index,
        }
    }
}

/// What a step observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Obs {
    /// An activity's value.
    Value(u32),
    /// An activity failed for good (its error kind).
    Failed(String),
    /// A timer fired.
    Slept,
    /// A signal's value.
    Signal(u32),
    /// A signal wait timed out.
    TimedOut,
    /// A child's trace, or that it failed.
    Child(Result<Vec<Obs>, String>),
    /// Compensations run: how many completed and how many failed.
    Compensated(usize, usize),
    /// A patch decision.
    Patched(bool),
    /// The branches of a join, in branch order.
    Joined(Vec<Obs>),
    /// The winner of a select: the activity's value.
    Selected(u32),
    /// The timer won a select.
    TimerWon,
}

/// A run's input: its label (unique per program, for keys), the steps
/// left, and the trace so far (a run that continued as new carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Unique per program in a test: keys the activities' attempt counts.
    pub label: String,
    /// The steps to run.
    pub steps: Vec<Step>,
    /// What the chain observed before this run.
    pub trace: Vec<Obs>,
}

/// What the activity is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    /// Unique per activity call in a test.
    pub key: String,
    /// What it returns.
    pub value: u32,
    /// Attempts that fail first.
    pub failures: u8,
    /// How it behaves.
    pub mode: WorkMode,
}

/// How a [`Work`] call behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkMode {
    /// Fails `failures` times, then returns the value.
    Normal,
    /// Fails for good.
    FailForGood,
    /// Panics.
    Panic,
}

/// Attempts so far per call key.
static ATTEMPTS: LazyLock<Mutex<HashMap<String, u32>>> = LazyLock::new(Mutex::default);

/// The generated programs' activity.
#[activity(retry(max_attempts = 8, initial = "2ms", multiplier = 2.0, max = "20ms"))]
pub async fn work(input: Work) -> Result<u32, ActivityError> {
    let attempt = {
        let mut attempts = ATTEMPTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = attempts.entry(input.key.clone()).or_insert(0);
        *n += 1;
        *n
    };
    match input.mode {
        WorkMode::FailForGood => Err(ActivityError::non_retryable(format!("{} refuses", input.key))),
        WorkMode::Panic => panic!("{PLANNED_PANIC} in {}", input.key),
        WorkMode::Normal if attempt <= u32::from(input.failures) => {
            Err(ActivityError::retryable(format!("{} attempt {attempt} fails", input.key)))
        }
        WorkMode::Normal => Ok(input.value),
    }
}

/// What a planned panic's message starts with (the runner keeps them out
/// of the test output).
pub const PLANNED_PANIC: &str = "planned panic";

/// The compensation of a [`Step::Compensable`] activity.
#[activity]
pub async fn undo(_value: u32) -> Result<(), ActivityError> {
    Ok(())
}

/// What a finished activity call observed.
#[pure]
fn observed(result: Result<u32, ActivityError>) -> Obs {
    match result {
        Ok(v) => Obs::Value(v),
        Err(e) => Obs::Failed(
            match e.kind {
                // A panicking activity whose last attempt was lost in a
                // crash ends as exhausted: either way its attempts ran out.
                ActivityErrorKind::Panicked | ActivityErrorKind::AttemptsExhausted => "panicked",
                ActivityErrorKind::Failed => "failed",
                _ => "other",
            }
            .into(),
        ),
    }
}

/// The call a step makes.
#[pure]
fn work_for(key: String, step: &Step) -> Work {
    match step {
        Step::Activity { value, failures } => Work { key, value: *value, failures: *failures, mode: WorkMode::Normal },
        Step::ActivityFails => Work { key, value: 0, failures: 0, mode: WorkMode::FailForGood },
        Step::ActivityPanics => Work { key, value: 0, failures: 0, mode: WorkMode::Panic },
        Step::Compensable { value } | Step::Select { value } => {
            Work { key, value: *value, failures: 0, mode: WorkMode::Normal }
        }
        _ => Work { key, value: 0, failures: 0, mode: WorkMode::Normal },
    }
}

/// The branch of a join: an activity or a timer.
#[pure]
fn branch<'a>(ctx: &'a WorkflowContext, key: String, step: &Step) -> Pin<Box<dyn Future<Output = Obs> + Send + 'a>> {
    match step {
        Step::Sleep { ms } => {
            let sleep = ctx.sleep(millis(u64::from(*ms)));
            Box::pin(async move {
                sleep.await;
                Obs::Slept
            })
        }
        other => {
            let call = ctx.activity(work, work_for(key, other));
            Box::pin(async move { observed(call.await) })
        }
    }
}

/// Runs a generated program; see the module docs.
#[workflow]
pub async fn program(ctx: &WorkflowContext, segment: Segment) -> Result<Vec<Obs>, WorkflowError> {
    let Segment { label, steps, mut trace } = segment;
    for (i, step) in steps.iter().enumerate() {
        let key = format!("{label}/{}", trace.len());
        let obs = match step {
            Step::Activity { .. } | Step::ActivityFails | Step::ActivityPanics => {
                observed(ctx.activity(work, work_for(key, step)).await)
            }
            Step::Sleep { ms } => {
                ctx.sleep(millis(u64::from(*ms))).await;
                Obs::Slept
            }
            Step::Signal { name } => Obs::Signal(ctx.signal::<u32>(name.as_str()).await?),
            Step::SignalWithTimeout { name } => Obs::Signal(ctx.signal::<u32>(name.as_str()).timeout(hours(1)).await?),
            Step::SignalTimesOut { quiet } => {
                match ctx.signal::<u32>(&format!("quiet-{quiet}")).timeout(millis(30)).await {
                    Err(SignalError::TimedOut { .. }) => Obs::TimedOut,
                    Ok(v) => Obs::Signal(v),
                    Err(e) => return Err(WorkflowError::msg(e.to_string())),
                }
            }
            Step::Child { steps } => {
                let child = Segment { label: format!("{key}/c"), steps: steps.clone(), trace: Vec::new() };
                Obs::Child(ctx.child(program, child).await.map_err(|_| "failed".to_owned()))
            }
            Step::ContinueAsNew => {
                let rest = Segment { label, steps: steps[i + 1..].to_vec(), trace };
                return ctx.continue_as_new(rest).await;
            }
            Step::Compensable { .. } => observed(
                ctx.activity(work, work_for(key, step))
                    .compensate_with(undo)
                    .await
                    .map(continuum::Compensable::into_inner),
            ),
            Step::CompensateAll => {
                let report = ctx.compensate_all().await;
                Obs::Compensated(report.completed.len(), report.failed.len())
            }
            Step::Patched { id } => Obs::Patched(ctx.patched(&format!("p{id}"))),
            Step::Join(branches) => {
                let calls = branches.iter().enumerate().map(|(b, s)| branch(ctx, format!("{key}/{b}"), s));
                Obs::Joined(join_all(calls).await)
            }
            Step::Select { .. } => match select(ctx.activity(work, work_for(key, step)), ctx.sleep(hours(1))).await {
                Either::Left(result) => match observed(result) {
                    Obs::Value(v) => Obs::Selected(v),
                    other => other,
                },
                Either::Right(()) => Obs::TimerWon,
            },
            Step::Fail => return Err(WorkflowError::msg("planned failure")),
        };
        trace.push(obs);
    }
    Ok(trace)
}
