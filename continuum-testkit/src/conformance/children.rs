//! Child workflows: a child that outlives its parent's process, a cancel
//! that reaches a whole tree, the depth limit.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Event, Journal, Payload, RunOutcome, RunStatus};

use super::harness::{kinds, runtime, wait_for};
use super::runs::add_one;

/// A child that works, waits on a timer, works again.
#[workflow]
pub(crate) async fn slow_child(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(add_one, n).await?;
    ctx.sleep(millis(600)).await;
    Ok(ctx.activity(add_one, n).await?)
}

#[workflow]
pub(crate) async fn waits_for_slow_child(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.child(slow_child, n).await? * 10)
}

/// Nested children down to `depth`, the innermost parked on a long timer.
#[workflow]
pub(crate) async fn tree(ctx: &WorkflowContext, depth: u32) -> Result<u32, WorkflowError> {
    if depth == 0 {
        ctx.sleep(hours(1)).await;
        return Ok(0);
    }
    Ok(ctx.child(tree, depth - 1).await? + 1)
}

/// The runtime running a parent and its child dies while the child waits
/// on its timer; the next runtime finishes both, and the parent journals
/// the child's start and end once each.
pub async fn a_child_finishes_once_when_its_parent_crashes(journal: Arc<dyn Journal>) {
    let first = runtime(journal.clone()).await;
    let run = first
        .start(waits_for_slow_child, 1, StartOptions::id(format!("parent-{}", continuum::RunId::new_random())))
        .await
        .unwrap()
        .id();
    wait_for(&journal, run, "child_started").await;
    let child = journal
        .history(run)
        .await
        .unwrap()
        .iter()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .expect("a child");
    wait_for(&journal, child, "timer_started").await;
    drop(first);
    let second = runtime(journal.clone()).await;
    let outcome = second.await_outcome(run, Duration::from_secs(20)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&30u32).unwrap()));
    assert_eq!(
        kinds(&journal.history(run).await.unwrap()),
        ["run_started", "child_started", "child_completed", "run_completed"]
    );
    assert_eq!(
        kinds(&journal.history(child).await.unwrap()),
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "timer_started",
            "timer_fired",
            "activity_scheduled",
            "activity_completed",
            "run_completed"
        ]
    );
}

/// Cancelling the root of a tree three levels deep cancels every level,
/// each ending with `run_cancelled`.
pub async fn cancelling_a_parent_cancels_its_three_level_tree(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let root =
        rt.start(tree, 3, StartOptions::id(format!("tree-{}", continuum::RunId::new_random()))).await.unwrap().id();
    // Wait for the whole tree: each level starts the next.
    let mut levels = vec![root];
    while levels.len() < 4 {
        let last = *levels.last().unwrap();
        wait_for(&journal, last, "child_started").await;
        let child = journal.history(last).await.unwrap().iter().find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        });
        levels.push(child.expect("the next level"));
    }
    wait_for(&journal, levels[3], "timer_started").await;
    rt.cancel(root, Some("shutting down".into())).await.unwrap();
    for (depth, id) in levels.iter().enumerate() {
        assert_eq!(journal.run_info(*id).await.unwrap().status, RunStatus::Cancelled, "depth {depth}");
        assert_eq!(kinds(&journal.history(*id).await.unwrap()).last(), Some(&"run_cancelled"), "depth {depth}");
    }
}

/// A child that would be deeper than `max_child_depth` is not started: the
/// run that would start it fails, and the failure climbs back as values.
pub async fn a_child_beyond_the_depth_limit_fails_the_run_that_would_start_it(journal: Arc<dyn Journal>) {
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(tree)
        .engine_config(EngineConfig {
            max_child_depth: 2,
            lease_renewal: Duration::from_millis(100),
            ..EngineConfig::default()
        })
        .start()
        .await
        .unwrap();
    let root =
        rt.start(tree, 3, StartOptions::id(format!("deep-{}", continuum::RunId::new_random()))).await.unwrap().id();
    // Root (depth 0) starts depth 1, which starts depth 2; depth 2 may not
    // start depth 3: it fails, and the failure climbs back as values.
    let outcome = rt.await_outcome(root, Duration::from_secs(10)).await.unwrap();
    let RunOutcome::Failed(failure) = outcome else { panic!("{outcome:?}") };
    assert!(failure.to_string().contains("exceeds the maximum depth 2"), "{failure}");
    let mut level = root;
    for depth in 1..=2 {
        level = journal
            .history(level)
            .await
            .unwrap()
            .iter()
            .find_map(|e| match e.event {
                Event::ChildStarted { child, .. } => Some(child),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no child at depth {depth}"));
    }
    let deepest = journal.history(level).await.unwrap();
    assert_eq!(kinds(&deepest), ["run_started", "run_failed"], "no child was started past the limit");
    assert!(
        matches!(
            &deepest[1].event,
            Event::RunFailed { failure: continuum::RunFailure::ChildDepth { depth: 3, max: 2 } }
        ),
        "{:?}",
        deepest[1]
    );
}

/// Parks on a child and reports how it ended.
#[workflow]
pub(crate) async fn reports_child_end(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    match ctx.child(tree, 0).await {
        Ok(n) => Ok(format!("completed {n}")),
        Err(continuum::ChildError::Cancelled { reason, .. }) => Ok(format!("cancelled: {reason:?}")),
        Err(other) => Ok(format!("other: {other}")),
    }
}

/// A runtime that does not hold the child (it registers no workflow, as an
/// operator's process would) cancels it; the parent, live in another
/// runtime, gets `ChildError::Cancelled` from `ctx.child(..)`.
pub async fn a_child_cancelled_by_a_process_not_holding_it_reports_to_its_parent(journal: Arc<dyn Journal>) {
    let owner = runtime(journal.clone()).await;
    let parent = owner.start(reports_child_end, (), StartOptions::default()).await.unwrap().id();
    wait_for(&journal, parent, "child_started").await;
    let child = journal
        .history(parent)
        .await
        .unwrap()
        .iter()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .expect("a child");
    wait_for(&journal, child, "timer_started").await;
    let operator = Runtime::builder()
        .journal(journal.clone())
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() })
        .start()
        .await
        .unwrap();
    operator.cancel(child, Some("operator".into())).await.unwrap();
    assert_eq!(journal.run_info(child).await.unwrap().status, RunStatus::Cancelled);
    let outcome = owner.await_outcome(parent, Duration::from_secs(20)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&"cancelled: Some(\"operator\")").unwrap()));
    assert_eq!(
        kinds(&journal.history(parent).await.unwrap()),
        ["run_started", "child_started", "child_cancelled", "run_completed"]
    );
}

/// Starts a child in its first step, and waits for it.
#[workflow]
pub(crate) async fn starts_child_at_once(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.child(tree, 0).await? + n)
}

/// A start refused because its workflow id is taken leaves nothing behind:
/// the children its first step started, written in the same commit as the
/// refused creation, are not created either.
pub async fn a_start_refused_as_a_duplicate_creates_no_child_run(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let id = format!("twice-{}", continuum::RunId::new_random());
    let first = rt.start(starts_child_at_once, 1, StartOptions::id(id.clone())).await.unwrap().id();
    match rt.start(starts_child_at_once, 2, StartOptions::id(id.clone())).await {
        Err(continuum::StartError::DuplicateWorkflowId { existing, .. }) => assert_eq!(existing, first),
        other => panic!("the second start was not refused: {other:?}"),
    }
    let mut parents = Vec::new();
    for run in journal.active_runs().await.unwrap() {
        if let Some(parent) = journal.run_info(run).await.unwrap().parent {
            parents.push(parent.run);
        }
    }
    assert_eq!(parents, [first], "one child, of the run that was created");
}
