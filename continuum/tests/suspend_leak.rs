//! Workflow code cannot swallow the engine's suspension: awaiting anything
//! that is not a Continuum effect, or polling an effect outside the
//! engine's poll, fails the run with a dedicated `SuspendLeak` failure
//! instead of corrupting its history.

use continuum::prelude::*;
use continuum::{RunFailure, RunOutcome};
use continuum_testkit::TestEnv;

#[activity]
async fn one(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[workflow]
async fn awaits_a_foreign_future(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(one, n).await?;
    // Nothing deterministic can ever wake this.
    std::future::pending::<()>().await;
    Ok(n)
}

#[workflow]
async fn polls_an_effect_on_another_thread(ctx: &WorkflowContext, _n: u32) -> Result<u32, WorkflowError> {
    // The checker rejects this; the escape hatch lets the test prove the
    // runtime catches it too.
    nondeterministic!(std::thread::scope(|s| {
        let _ = s.spawn(|| futures::executor::block_on(ctx.sleep(seconds(1)))).join();
    }));
    // Carry on as if the timer had been handled.
    ctx.sleep(seconds(1)).await;
    Ok(0)
}

fn failure_of(env: &TestEnv, run: continuum::RunId) -> RunFailure {
    match env.outcome(run) {
        Some(RunOutcome::Failed(f)) => f,
        other => panic!("expected a failed run, got {other:?}"),
    }
}

#[test]
fn awaiting_a_foreign_future_fails_the_run_with_suspend_leak() {
    let mut env = TestEnv::builder().workflow(awaits_a_foreign_future).activity(one).build();
    let run = env.start(awaits_a_foreign_future, 1);
    match failure_of(&env, run.id()) {
        RunFailure::SuspendLeak { detail } => assert!(detail.contains("not a Continuum effect"), "{detail}"),
        other => panic!("expected SuspendLeak, got {other:?}"),
    }
    let kinds: Vec<_> = env.history(run.id()).iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, ["run_started", "activity_scheduled", "activity_completed", "run_failed"]);
}

#[test]
fn polling_an_effect_outside_the_engine_fails_the_run_with_suspend_leak() {
    let mut env = TestEnv::builder().workflow(polls_an_effect_on_another_thread).build();
    let run = env.start(polls_an_effect_on_another_thread, 1);
    match failure_of(&env, run.id()) {
        RunFailure::SuspendLeak { detail } => assert!(detail.contains("outside the engine's poll"), "{detail}"),
        other => panic!("expected SuspendLeak, got {other:?}"),
    }
    let kinds: Vec<_> = env.history(run.id()).iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, ["run_started", "run_failed"], "nothing the leaked poll asked for was journaled");
}
