//! `join`, `try_join` and `join_all` in workflow code, on the real runtime
//! and across a crash: every branch's command is journaled before any
//! waits, results come back in branch order whatever order the activities
//! finish in, a failing branch ends `try_join` with its error, and a
//! replayed run reaches the same end with the same history.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, HistoryEvent, InMemoryJournal, Journal, Payload, RunOutcome};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

/// Takes `ms` milliseconds, then returns it.
#[activity]
async fn takes(ms: u64) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[activity(retry(max_attempts = 1))]
async fn refuses(ms: u64) -> Result<u64, ActivityError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Err(ActivityError::non_retryable(format!("no after {ms}")))
}

#[workflow]
async fn joins_two(ctx: &WorkflowContext, (a, b): (u64, u64)) -> Result<(u64, u64), WorkflowError> {
    let (x, y) = join(ctx.activity(takes, a), ctx.activity(takes, b)).await;
    Ok((x?, y?))
}

#[workflow]
async fn try_joins(ctx: &WorkflowContext, (ok, bad): (u64, u64)) -> Result<String, WorkflowError> {
    match try_join(ctx.activity(takes, ok), ctx.activity(refuses, bad)).await {
        Ok(both) => Ok(format!("both {both:?}")),
        Err(e) => Ok(format!("failed: {}", e.message)),
    }
}

#[workflow]
async fn joins_all(ctx: &WorkflowContext, delays: Vec<u64>) -> Result<Vec<u64>, WorkflowError> {
    let calls = delays.iter().map(|ms| ctx.activity(takes, *ms));
    let results = join_all(calls).await;
    Ok(results.into_iter().collect::<Result<Vec<_>, _>>()?)
}

#[workflow]
async fn join_then_wait(ctx: &WorkflowContext, delays: Vec<u64>) -> Result<Vec<u64>, WorkflowError> {
    let results = try_join_all(delays.iter().map(|ms| ctx.activity(takes, *ms))).await?;
    let extra: u64 = ctx.signal("extra").await?;
    Ok(results.into_iter().chain([extra]).collect())
}

async fn runtime(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(joins_two)
        .workflow(try_joins)
        .workflow(joins_all)
        .workflow(join_then_wait)
        .activity(takes)
        .activity(refuses)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_schedules_both_before_waiting_and_returns_in_branch_order() {
    let rt = runtime(Arc::new(InMemoryJournal::new())).await;
    // The first branch finishes last.
    let run = rt.start(joins_two, (150, 10), StartOptions::default()).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(5)).await.unwrap(), (150, 10));
    let history = rt.history(run.id()).await.unwrap();
    assert_eq!(
        kinds(&history)[..3],
        ["run_started", "activity_scheduled", "activity_scheduled"],
        "both commands journaled before either result"
    );
    let completed: Vec<u64> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ActivityCompleted { output, .. } => Some(output.decode().unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(completed, [10, 150], "the history records the order they finished in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_join_ends_with_the_failing_branchs_error() {
    let rt = runtime(Arc::new(InMemoryJournal::new())).await;
    let run = rt.start(try_joins, (200, 10), StartOptions::default()).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(5)).await.unwrap(), "failed: no after 10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_all_returns_every_result_in_call_order() {
    let rt = runtime(Arc::new(InMemoryJournal::new())).await;
    let delays = vec![60, 5, 40, 20, 1];
    let run = rt.start(joins_all, delays.clone(), StartOptions::default()).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(5)).await.unwrap(), delays);
    let scheduled = rt
        .history(run.id())
        .await
        .unwrap()
        .iter()
        .take(6)
        .filter(|e| e.event.type_name() == "activity_scheduled")
        .count();
    assert_eq!(scheduled, 5, "all five scheduled in the first step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_replayed_after_a_crash_reaches_the_same_end() {
    let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::new());
    let first = runtime(journal.clone()).await;
    let delays = vec![30, 10, 20];
    let run = first.start(join_then_wait, delays.clone(), StartOptions::default()).await.unwrap().id();
    for _ in 0..500 {
        if journal.history(run).await.unwrap().iter().any(|e| e.event.type_name() == "signal_awaited") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = journal.history(run).await.unwrap();
    drop(first);
    let second = runtime(journal.clone()).await;
    second.signal(run, "extra", &99u64).await.unwrap();
    let outcome = second.await_outcome(run, Duration::from_secs(5)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&[30u64, 10, 20, 99]).unwrap()));
    let after = journal.history(run).await.unwrap();
    assert_eq!(&after[..before.len()], &before[..], "replay appended, never rewrote");
    assert_eq!(kinds(&after[before.len()..]), ["signal_received", "run_completed"]);
}

#[test]
fn joins_replay_identically_under_paranoid_checks() {
    let mut env = TestEnv::builder()
        .workflow(joins_two)
        .workflow(joins_all)
        .workflow(try_joins)
        .activity(takes)
        .activity(refuses)
        .paranoid(true)
        .build();
    let a = env.start(joins_two, (3, 1));
    let b = env.start(joins_all, vec![4, 2, 9]);
    let c = env.start(try_joins, (1, 2));
    env.crash();
    assert_eq!(env.result(&a).unwrap().unwrap(), (3, 1));
    assert_eq!(env.result(&b).unwrap().unwrap(), vec![4, 2, 9]);
    assert_eq!(env.result(&c).unwrap().unwrap(), "failed: no after 2");
}
