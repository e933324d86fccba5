//! Bad input through the testkit: rejected starts (duplicate workflow id,
//! wrong input type, unknown workflow) journal nothing; panicking and
//! erroring workflows fail their run; an undecodable payload in a history
//! fails that run alone on replay.

use continuum::prelude::*;
use continuum::{AwaitError, Event, HistoryEvent, RunFailure, RunOutcome, RunStatus, StartError};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

#[workflow]
async fn takes_a_number(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(n + 1)
}

#[workflow]
async fn waits_for_a_number(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let more: u32 = ctx.signal("more").await?;
    Ok(n + more)
}

#[test]
fn a_workflow_id_held_by_a_running_chain_is_rejected() {
    let mut env = TestEnv::builder().workflow(waits_for_a_number).build();
    let first = env.try_start(waits_for_a_number, 1, Some("order-1".into())).unwrap();
    assert_eq!(env.result(&first), None, "still running");

    let second = env.try_start(waits_for_a_number, 2, Some("order-1".into()));
    assert_eq!(
        second.unwrap_err(),
        StartError::DuplicateWorkflowId { workflow_id: "order-1".into(), existing: first.id() }
    );
    assert_eq!(env.journal().all_runs_for_tests(), [first.id()], "the rejected start created no run");
    assert_eq!(env.run_info(first.id()).unwrap().workflow_id, "order-1");

    // Once the chain ended, the id may be used again (the default policy).
    env.inject_signal(first.id(), "more", &1u32).unwrap();
    assert_eq!(env.result(&first), Some(Ok(2)));
    let third = env.try_start(waits_for_a_number, 3, Some("order-1".into())).unwrap();
    assert_ne!(third.id(), first.id());
}

#[test]
fn wrong_input_type_at_start_is_rejected_before_anything_is_journaled() {
    let mut env = TestEnv::builder().workflow(takes_a_number).build();
    let err = env.start_by_name("takes_a_number", &serde_json::json!("not a number")).unwrap_err();
    match err {
        StartError::InputType { workflow, error } => {
            assert_eq!(workflow, "takes_a_number");
            assert_eq!(error.direction, "decoding");
            assert_eq!(error.type_name, "u32");
        }
        other => panic!("expected StartError::InputType, got {other:?}"),
    }
    assert!(env.journal().all_runs_for_tests().is_empty());

    // The same entry point accepts a well-typed input.
    let ok = env.start_by_name("takes_a_number", &serde_json::json!(41)).unwrap();
    assert_eq!(env.outcome(ok), Some(RunOutcome::Completed(continuum::Payload::encode(&42u32).unwrap())));
}

#[test]
fn unknown_workflow_is_rejected_at_start() {
    let mut env = TestEnv::builder().workflow(takes_a_number).build();
    assert_eq!(
        env.start_by_name("no_such_workflow", &serde_json::json!(1)),
        Err(StartError::UnknownWorkflow { name: "no_such_workflow".into() })
    );
    assert!(env.journal().all_runs_for_tests().is_empty());
}

#[workflow]
async fn explodes(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if n > 0 {
        panic!("workflow exploded on {n}");
    }
    Ok(n)
}

#[test]
fn panicking_workflow_fails_its_run_with_the_panic_message() {
    let mut env = TestEnv::builder().workflow(explodes).build();
    let run = env.start(explodes, 7);
    assert_eq!(
        env.outcome(run.id()),
        Some(RunOutcome::Failed(RunFailure::Panicked { message: "workflow exploded on 7".into() }))
    );
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Failed);
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "run_failed"]);
}

#[workflow]
async fn says_nope(_ctx: &WorkflowContext, _n: u32) -> Result<u32, WorkflowError> {
    Err(WorkflowError::msg("nope"))
}

#[test]
fn workflow_error_fails_the_run_with_its_message() {
    let mut env = TestEnv::builder().workflow(says_nope).build();
    let run = env.start(says_nope, 1);
    let failure = RunFailure::Error { message: "nope".into() };
    assert_eq!(env.outcome(run.id()), Some(RunOutcome::Failed(failure.clone())));
    assert_eq!(env.result(&run), Some(Err(AwaitError::Failed { run: run.id(), failure })));
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Failed);
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "run_failed"]);
}

#[activity]
async fn fetch_value(n: u32) -> Result<String, ActivityError> {
    Ok(format!("value-{n}"))
}

#[workflow]
async fn fetch_then_wait(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let value = ctx.activity(fetch_value, n).await?;
    ctx.sleep(hours(1)).await;
    Ok(value)
}

#[test]
fn undecodable_payload_in_history_fails_only_that_run() {
    let mut env = TestEnv::builder().workflow(fetch_then_wait).activity(fetch_value).build();
    let a = env.start(fetch_then_wait, 1);
    let b = env.start(fetch_then_wait, 2);
    let waiting = ["run_started", "activity_scheduled", "activity_completed", "timer_started"];
    assert_eq!(kinds(&env.history(a.id())), waiting);
    assert_eq!(kinds(&env.history(b.id())), waiting);

    let seq = env
        .history(a.id())
        .iter()
        .find(|e| matches!(e.event, Event::ActivityCompleted { .. }))
        .map(|e| e.seq)
        .expect("run A's activity completed");
    assert!(env.journal().corrupt_payload_for_tests(a.id(), seq, "{not json"));

    env.crash();
    assert_eq!(env.engine().stats().runs_replayed, 2, "both runs were rebuilt from the journal");
    env.advance(hours(1));

    match env.outcome(a.id()) {
        Some(RunOutcome::Failed(RunFailure::HistoryDecode { run, seq: bad, error })) => {
            assert_eq!(run, a.id());
            assert_eq!(bad, seq);
            assert_eq!(error.direction, "decoding");
        }
        other => panic!("expected run A to fail with HistoryDecode, got {other:?}"),
    }
    assert_eq!(env.run_info(a.id()).unwrap().status, RunStatus::Failed);
    assert_eq!(kinds(&env.history(a.id())), [&waiting[..], &["run_failed"]].concat());

    assert_eq!(env.result(&b), Some(Ok("value-2".to_string())));
    assert_eq!(env.run_info(b.id()).unwrap().status, RunStatus::Completed);
    assert_eq!(kinds(&env.history(b.id())), [&waiting[..], &["timer_fired", "run_completed"]].concat());
}
