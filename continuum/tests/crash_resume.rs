//! Crash-resume on the tokio runtime: a runtime is dropped mid-flight
//! (engine and its in-memory state discarded, journal kept) and a fresh
//! runtime over the same journal replays the run and finishes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, InMemoryJournal, Journal, RunStatus, WorkerConfig};

#[activity(retry(max_attempts = 3, initial = "10ms"))]
async fn add_one(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

#[workflow]
async fn step_sleep_step(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let a = ctx.activity(add_one, n).await?;
    ctx.sleep(millis(300)).await;
    let b = ctx.activity(add_one, a).await?;
    Ok(b * 10)
}

fn kinds(history: &[continuum::HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

const SIX: [&str; 8] = [
    "run_started",
    "activity_scheduled",
    "activity_completed",
    "timer_started",
    "timer_fired",
    "activity_scheduled",
    "activity_completed",
    "run_completed",
];

#[tokio::test]
async fn run_dropped_during_its_timer_is_finished_by_a_fresh_runtime() {
    let journal = Arc::new(InMemoryJournal::new());
    let first =
        Runtime::builder().journal(journal.clone()).workflow(step_sleep_step).activity(add_one).start().await.unwrap();
    let run = first.start(step_sleep_step, 4, StartOptions::id("crash-1")).await.unwrap().id();
    // Wait until the timer is journaled, then "crash".
    for _ in 0..200 {
        if kinds(&journal.history(run).await.unwrap()).contains(&"timer_started") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(kinds(&journal.history(run).await.unwrap()), SIX[..4]);
    drop(first);

    let second =
        Runtime::builder().journal(journal.clone()).workflow(step_sleep_step).activity(add_one).start().await.unwrap();
    let outcome = second.await_outcome(run, Duration::from_secs(5)).await.unwrap();
    assert_eq!(outcome, continuum::RunOutcome::Completed(continuum::Payload::encode(&60u32).unwrap()));
    let history = journal.history(run).await.unwrap();
    assert_eq!(kinds(&history), SIX);
    let stats = second.stats().await.unwrap();
    assert_eq!(stats.runs_replayed, 1, "the second runtime rebuilt the run by replay");
    assert_eq!(journal.run_info(run).await.unwrap().status, RunStatus::Completed);

    // Same result as a run that was never interrupted.
    let fresh = second.start(step_sleep_step, 4, StartOptions::id("no-crash")).await.unwrap();
    assert_eq!(fresh.result(Duration::from_secs(5)).await.unwrap(), 60);
}

static HANGS: AtomicU32 = AtomicU32::new(0);

/// First attempt never returns (its worker "dies" with the runtime).
#[activity(retry(max_attempts = 3, initial = "10ms"))]
async fn hangs_once(n: u32) -> Result<u32, ActivityError> {
    if HANGS.fetch_add(1, Ordering::SeqCst) == 0 {
        std::future::pending::<()>().await;
    }
    Ok(n + 1)
}

#[workflow]
async fn step_hang(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let a = ctx.activity(hangs_once, n).await?;
    ctx.sleep(millis(50)).await;
    Ok(ctx.activity(hangs_once, a).await?)
}

#[tokio::test]
async fn run_dropped_mid_activity_is_rescued_after_the_task_lease_expires() {
    let journal = Arc::new(InMemoryJournal::new());
    let worker = WorkerConfig { task_lease: Duration::from_millis(200), ..WorkerConfig::default() };
    let first = Runtime::builder()
        .journal(journal.clone())
        .worker_config(worker)
        .workflow(step_hang)
        .activity(hangs_once)
        .start()
        .await
        .unwrap();
    let run = first.start(step_hang, 1, StartOptions::default()).await.unwrap().id();
    while HANGS.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(first);

    let second = Runtime::builder()
        .journal(journal.clone())
        .worker_config(worker)
        .workflow(step_hang)
        .activity(hangs_once)
        .start()
        .await
        .unwrap();
    let outcome = second.await_outcome(run, Duration::from_secs(5)).await.unwrap();
    assert_eq!(outcome, continuum::RunOutcome::Completed(continuum::Payload::encode(&3u32).unwrap()));
    let history = journal.history(run).await.unwrap();
    assert_eq!(kinds(&history), SIX);
    match &history[2].event {
        Event::ActivityCompleted { attempts, .. } => assert_eq!(*attempts, 2, "the lost attempt counts"),
        other => panic!("unexpected {other:?}"),
    }
}
