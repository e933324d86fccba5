//! Child workflows through the testkit: start and await, fan-out with
//! keys, failures and cancellations as values, unregistered children,
//! replay checks on the child's workflow and input, the cancel cascade
//! and the depth limit.

use continuum::prelude::*;
use continuum::{ChildError, EngineConfig, Event, HistoryEvent, Replayed, RunFailure, RunOutcome, RunStatus};
use continuum_testkit::TestEnv;
use continuum_testkit::golden;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

#[activity]
async fn double(n: u32) -> Result<u32, ActivityError> {
    Ok(n * 2)
}

#[workflow]
async fn doubler(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(double, n).await?)
}

#[workflow]
async fn refuses(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Err(WorkflowError::msg(format!("no {n}")))
}

#[workflow]
async fn parent_of_one(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let twice = ctx.child(doubler, n).await?;
    Ok(twice + 1)
}

fn env() -> TestEnv {
    TestEnv::builder()
        .workflow(parent_of_one)
        .workflow(doubler)
        .workflow(refuses)
        .workflow(fan_out)
        .workflow(twice_same_key)
        .workflow(child_fails)
        .workflow(calls_unregistered)
        .workflow(nest)
        .activity(double)
        .paranoid(true)
        .build()
}

#[test]
fn a_child_runs_as_its_own_run_and_its_output_reaches_the_parent() {
    let mut env = env();
    let run = env.start(parent_of_one, 20);
    assert_eq!(env.result(&run), Some(Ok(41)));
    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "child_started", "child_completed", "run_completed"]);
    let Event::ChildStarted { child, workflow, .. } = &history[1].event else { panic!("{:?}", history[1]) };
    assert_eq!(workflow, "doubler");
    let child_history = env.history(*child);
    assert_eq!(kinds(&child_history), ["run_started", "activity_scheduled", "activity_completed", "run_completed"]);
    match &child_history[0].event {
        Event::RunStarted { parent: Some(p), .. } => {
            assert_eq!((p.run, p.command, p.depth), (run.id(), 2, 1), "the child knows its parent");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.run_info(*child).unwrap().parent.map(|p| p.run), Some(run.id()));
}

#[workflow]
async fn fan_out(ctx: &WorkflowContext, items: Vec<u32>) -> Result<Vec<u32>, WorkflowError> {
    let mut handles = Vec::new();
    for item in items {
        handles.push(ctx.start_child(doubler, item).key(format!("item-{item}")).await?);
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.result().await?);
    }
    Ok(out)
}

#[test]
fn a_parent_fans_out_to_keyed_children_and_fans_in() {
    let mut env = env();
    let run = env.start(fan_out, vec![1, 2, 3]);
    assert_eq!(env.result(&run), Some(Ok(vec![2, 4, 6])));
    let history = env.history(run.id());
    let started: Vec<(continuum::RunId, Option<String>)> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ChildStarted { child, key, .. } => Some((*child, key.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 3);
    // Ids are derived from the parent, the site and the key.
    let mut ids: Vec<_> = started.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    assert_eq!(started[0].1.as_deref(), Some("item-1"));
}

#[workflow]
async fn twice_same_key(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let first = ctx.start_child(doubler, 1).key("only").await?;
    let second = ctx.start_child(doubler, 2).key("only").await;
    let out = first.result().await?;
    Ok(format!("{out} {}", second.expect_err("refused")))
}

#[test]
fn a_second_child_with_the_same_key_is_refused_without_starting() {
    let mut env = env();
    let run = env.start(twice_same_key, ());
    assert_eq!(env.result(&run), Some(Ok("2 this run already started a child with key `only`".to_string())));
    let children = env.history(run.id()).iter().filter(|e| matches!(e.event, Event::ChildStarted { .. })).count();
    assert_eq!(children, 1);
}

/// Starts a keyed child from outside the workflow body.
#[pure]
async fn start_keyed(ctx: &WorkflowContext, n: u32, key: &str) -> Result<u32, ChildError> {
    ctx.start_child(doubler, n).key(key).await?.result().await
}

#[workflow]
async fn same_key_in_body_and_helper(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let first = ctx.start_child(doubler, 5).key("k").await?.result().await?;
    let in_helper = start_keyed(ctx, 6, "k").await;
    let other_key = start_keyed(ctx, 7, "other").await?;
    Ok(format!("{first} {other_key} {}", in_helper.expect_err("refused")))
}

#[test]
fn keys_are_unique_per_parent_whatever_the_call_site() {
    let mut env = TestEnv::builder()
        .workflow(same_key_in_body_and_helper)
        .workflow(doubler)
        .activity(double)
        .paranoid(true)
        .build();
    let run = env.start(same_key_in_body_and_helper, ());
    assert_eq!(env.result(&run), Some(Ok("10 14 this run already started a child with key `k`".to_string())));
    let started: Vec<_> = env
        .history(run.id())
        .iter()
        .filter_map(|e| match &e.event {
            Event::ChildStarted { key, .. } => key.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(started, ["k", "other"], "the refused start journaled nothing");
}

#[workflow]
async fn child_fails(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    match ctx.child(refuses, n).await {
        Err(ChildError::Failed { failure, .. }) => Ok(format!("failed: {failure}")),
        other => Ok(format!("unexpected: {other:?}")),
    }
}

#[test]
fn a_child_that_fails_is_a_failure_to_its_parent() {
    let mut env = env();
    let run = env.start(child_fails, 7);
    assert_eq!(env.result(&run), Some(Ok("failed: workflow returned an error: no 7".to_string())));
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "child_started", "child_failed", "run_completed"]);
}

#[workflow]
async fn not_registered_anywhere(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(n)
}

#[workflow]
async fn calls_unregistered(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    match ctx.child(not_registered_anywhere, n).await {
        Err(e @ ChildError::UnknownWorkflow { .. }) => Ok(e.to_string()),
        other => Ok(format!("unexpected: {other:?}")),
    }
}

#[test]
fn starting_an_unregistered_child_gives_the_parent_a_typed_error() {
    let mut env = env();
    let run = env.start(calls_unregistered, 1);
    assert_eq!(env.result(&run), Some(Ok("child workflow `not_registered_anywhere` is not registered".to_string())));
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "child_started", "child_failed", "run_completed"]);
}

/// Starts a chain of `depth` nested children, the innermost waiting on a
/// signal.
#[workflow]
async fn nest(ctx: &WorkflowContext, depth: u32) -> Result<u32, WorkflowError> {
    if depth == 0 {
        let v: u32 = ctx.signal("go").await?;
        return Ok(v);
    }
    Ok(ctx.child(nest, depth - 1).await? + 1)
}

fn descendants(env: &TestEnv, run: continuum::RunId) -> Vec<continuum::RunId> {
    let mut out = Vec::new();
    let mut frontier = vec![run];
    while let Some(r) = frontier.pop() {
        for e in env.history(r) {
            if let Event::ChildStarted { child, .. } = e.event {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

#[test]
fn cancelling_a_parent_cancels_every_descendant() {
    let mut env = env();
    let run = env.start(nest, 3);
    assert!(env.result(&run).is_none(), "the innermost waits");
    let tree = descendants(&env, run.id());
    assert_eq!(tree.len(), 3, "three levels below the root");
    env.cancel(run.id()).expect("cancelled");
    for id in std::iter::once(run.id()).chain(tree) {
        assert_eq!(env.run_info(id).unwrap().status, RunStatus::Cancelled, "{id}");
    }
}

#[test]
fn a_child_beyond_the_depth_limit_fails_the_run_that_would_start_it() {
    let mut env = TestEnv::builder()
        .workflow(nest)
        .engine_config(EngineConfig { max_child_depth: 2, ..EngineConfig::default() })
        .build();
    let run = env.start(nest, 3);
    // Root (depth 0) → 1 → 2; the run at depth 2 may not start depth 3.
    let tree = descendants(&env, run.id());
    assert_eq!(tree.len(), 2);
    let deepest = tree[1];
    match env.outcome(deepest) {
        Some(RunOutcome::Failed(RunFailure::ChildDepth { depth: 3, max: 2 })) => {}
        other => panic!("{other:?}"),
    }
    // Its parent gets the failure as a value (and fails with it here).
    let err = env.result(&run).expect("ended").expect_err("failed");
    assert!(err.to_string().contains("exceeds the maximum depth"), "{err}");
}

#[test]
fn a_parent_crashed_while_its_child_runs_sees_the_child_complete_once() {
    let mut env = env();
    let run = env.start(nest, 1);
    let child = descendants(&env, run.id())[0];
    env.crash();
    env.inject_signal(child, "go", &41u32).unwrap();
    assert_eq!(env.result(&run), Some(Ok(42)));
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "child_started", "child_completed", "run_completed"]);
}

#[workflow(name = "parent_of_one")]
async fn parent_of_one_other_input(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let twice = ctx.child(doubler, n + 1).await?;
    Ok(twice + 1)
}

#[workflow(name = "parent_of_one")]
async fn parent_of_one_other_child(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let twice = ctx.child(refuses, n).await?;
    Ok(twice + 1)
}

#[test]
fn replay_refuses_a_parent_that_now_starts_another_child_or_passes_another_input() {
    let mut env = env();
    let run = env.start(parent_of_one, 20);
    env.result(&run);
    let history = env.history(run.id());
    assert!(matches!(
        golden::replay_events::<parent_of_one>(history.clone()),
        Ok(Replayed::Ended(RunOutcome::Completed(_)))
    ));
    let other_input = golden::replay_events::<parent_of_one_other_input>(history.clone()).expect_err("drift");
    let drift = other_input.drift().expect("a drift report");
    assert_eq!(drift.seq, 2);
    assert!(drift.to_string().contains("started with input 20, the code now passes 21"), "{drift}");
    let other_child = golden::replay_events::<parent_of_one_other_child>(history).expect_err("drift");
    let drift = other_child.drift().expect("a drift report");
    assert_eq!(drift.seq, 2);
    assert_eq!(drift.expected.as_ref().map(|e| e.name.as_str()), Some("doubler"));
    assert_eq!(drift.found.as_ref().map(|e| e.name.as_str()), Some("refuses"));
}
