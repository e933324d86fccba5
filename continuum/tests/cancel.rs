//! Cancellation through the testkit: a run cancelled while it waits ends
//! `Cancelled` and nothing more is journaled for it; cancelling an ended
//! or unknown run is a typed error.

use std::sync::atomic::{AtomicU32, Ordering};

use continuum::prelude::*;
use continuum::{AwaitError, CancelError, HistoryEvent, RunStatus};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

static SHIPPED: AtomicU32 = AtomicU32::new(0);

#[activity]
async fn ship(order: u32) -> Result<u32, ActivityError> {
    SHIPPED.fetch_add(1, Ordering::SeqCst);
    Ok(order)
}

#[workflow]
async fn ship_in_an_hour(ctx: &WorkflowContext, order: u32) -> Result<u32, WorkflowError> {
    ctx.sleep(hours(1)).await;
    Ok(ctx.activity(ship, order).await?)
}

#[test]
fn cancel_during_timer_ends_run_cancelled_and_nothing_is_appended_after() {
    let mut env = TestEnv::builder().workflow(ship_in_an_hour).activity(ship).build();
    let run = env.start(ship_in_an_hour, 9);
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "timer_started"]);

    env.cancel(run.id()).unwrap();
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Cancelled);
    let after_cancel = env.history(run.id());
    assert_eq!(kinds(&after_cancel), ["run_started", "timer_started", "run_cancelled"]);
    assert_eq!(env.engine().armed_timers(), 0, "the run's timer was disarmed");

    env.advance(hours(2));
    let after_advance = env.history(run.id());
    assert_eq!(after_advance.len(), after_cancel.len(), "nothing was appended after the cancel");
    assert_eq!(after_advance, after_cancel);
    assert_eq!(after_advance.last().map(|e| e.event.type_name()), Some("run_cancelled"));
    assert_eq!(SHIPPED.load(Ordering::SeqCst), 0, "the activity after the timer never ran");
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Cancelled);
    assert_eq!(env.result(&run), Some(Err(AwaitError::Cancelled { run: run.id(), reason: None })));
}

#[workflow]
async fn done_at_once(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(n)
}

#[test]
fn cancelling_an_ended_run_is_a_typed_error() {
    let mut env = TestEnv::builder().workflow(done_at_once).build();
    let run = env.start(done_at_once, 3);
    assert_eq!(env.result(&run), Some(Ok(3)));
    let before = env.history(run.id());

    assert_eq!(env.cancel(run.id()), Err(CancelError::RunTerminal { run: run.id(), status: RunStatus::Completed }));
    assert_eq!(env.history(run.id()), before, "the refused cancel journaled nothing");
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Completed);
    assert_eq!(env.result(&run), Some(Ok(3)));
}

#[test]
fn cancelling_an_unknown_run_is_a_typed_error() {
    let mut env = TestEnv::builder().workflow(done_at_once).build();
    let nobody = RunId::new_random();
    assert_eq!(env.cancel(nobody), Err(CancelError::RunNotFound(nobody)));
    assert!(env.journal().all_runs_for_tests().is_empty());
}
