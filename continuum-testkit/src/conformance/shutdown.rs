//! Graceful shutdown: a runtime that shuts down hands its runs and tasks
//! to the processes still running at once — no lease lapses, no attempt
//! is counted — and journals what finished within the grace period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Event, Journal, Readiness, RunId, RunOutcome, WorkerConfig};

/// How many times each `(tag, n)` step was executed.
static EXECUTIONS: Mutex<Option<HashMap<(String, u32), u32>>> = Mutex::new(None);

fn executed(tag: &str, n: u32) -> u32 {
    let mut map = EXECUTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    let count = map.get_or_insert_with(HashMap::new).entry((tag.to_owned(), n)).or_default();
    *count += 1;
    *count
}

fn executions(tag: &str) -> u32 {
    let map = EXECUTIONS.lock().unwrap_or_else(PoisonError::into_inner);
    map.as_ref().map_or(0, |m| m.iter().filter(|((t, _), _)| t == tag).map(|(_, c)| *c).sum())
}

/// A step that takes `millis` the first time it runs for `(tag, n)` and
/// no time after that.
#[activity(timeout = "60s")]
pub(crate) async fn slow_step((tag, n, millis): (String, u32, u64)) -> Result<u32, ActivityError> {
    if executed(&tag, n) == 1 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    Ok(n + 1)
}

/// One slow step, a `go` signal, another step.
#[workflow]
pub(crate) async fn step_wait_step(
    ctx: &WorkflowContext,
    (tag, n, millis): (String, u32, u64),
) -> Result<u32, WorkflowError> {
    let a = ctx.activity(slow_step, (tag.clone(), n, millis)).await?;
    let _go: u32 = ctx.signal("go").await?;
    Ok(ctx.activity(slow_step, (tag, a + 100, 0)).await? - 100)
}

/// A worker that adopts orphaned runs only when the journal hints at them
/// (its own lease renewal is an hour away) and whose task leases last a
/// minute: anything it takes over within seconds was handed over, not
/// left to lapse.
async fn worker(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(step_wait_step)
        .activity(slow_step)
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(60), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_secs(3600), ..EngineConfig::default() })
        .start()
        .await
        .expect("worker starts")
}

/// Attempts recorded for every activity of the run's history.
async fn attempts(journal: &Arc<dyn Journal>, run: RunId) -> Vec<u32> {
    let history = journal.history(run).await.unwrap();
    history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ActivityCompleted { attempts, .. } | Event::ActivityFailed { attempts, .. } => Some(*attempts),
            _ => None,
        })
        .collect()
}

/// Waits until `tag`'s steps have started `n` times.
async fn until_started(tag: &str, n: u32) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while executions(tag) < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the steps start");
}

/// Runs whose first step is running when their runtime shuts down with a
/// grace period: the steps finish and are journaled there, every run is
/// released, and a runtime that was already running adopts them at once
/// (told by the journal) and finishes them; no attempt is counted twice.
/// Shutdown is idempotent and readiness ends `Drained`.
pub async fn a_graceful_shutdown_finishes_attempts_and_hands_runs_over_at_once(journal: Arc<dyn Journal>) {
    let tag = format!("grace-{}", RunId::new_random());
    let other = worker(journal.clone()).await;
    let leaving = worker(journal.clone()).await;
    assert_eq!(leaving.readiness(), Readiness::Ready);
    let mut runs = Vec::new();
    for n in 0..6u32 {
        let id = format!("{tag}-{n}");
        runs.push(leaving.start(step_wait_step, (tag.clone(), n, 300), StartOptions::id(id)).await.unwrap().id());
    }
    until_started(&tag, 6).await;
    let mut watch = leaving.watch_readiness();
    let (first, second) = tokio::join!(leaving.shutdown(Duration::from_secs(30)), leaving.shutdown(Duration::ZERO));
    let report = first.expect("shutdown");
    assert_eq!(second.expect("the concurrent call"), report);
    assert_eq!(report.attempts_finished, 6, "{report:?}");
    assert_eq!(report.tasks_released, 0, "{report:?}");
    assert_eq!(report.runs_released, 6, "{report:?}");
    assert_eq!(leaving.readiness(), Readiness::Drained);
    assert_eq!(*watch.borrow_and_update(), Readiness::Drained);
    assert_eq!(leaving.shutdown(Duration::ZERO).await.expect("again"), report);
    for (n, run) in (0..6u32).zip(&runs) {
        // Through the runtime that is gone: the signal is journaled for
        // whoever holds the run.
        leaving.signal(*run, "go", &1u32).await.expect("signal after shutdown");
        let outcome = other.await_outcome(*run, Duration::from_secs(20)).await.expect("adopted without a lease wait");
        assert_eq!(outcome, RunOutcome::Completed(continuum::Payload::encode(&(n + 2)).unwrap()), "run {n}");
        assert_eq!(attempts(&journal, *run).await, vec![1, 1], "run {n}");
    }
    other.shutdown(Duration::from_secs(5)).await.expect("the other shuts down too");
}

/// A grace of zero stops running attempts at once and gives their tasks
/// back uncounted: another worker runs them to completion, each task
/// finishing on its first counted attempt.
pub async fn a_shutdown_without_grace_gives_running_attempts_back_uncounted(journal: Arc<dyn Journal>) {
    let tag = format!("nograce-{}", RunId::new_random());
    let other = worker(journal.clone()).await;
    let leaving = worker(journal.clone()).await;
    let mut runs = Vec::new();
    for n in 0..4u32 {
        let id = format!("{tag}-{n}");
        // The first execution would take ten minutes: it is stopped.
        runs.push(leaving.start(step_wait_step, (tag.clone(), n, 600_000), StartOptions::id(id)).await.unwrap().id());
    }
    until_started(&tag, 4).await;
    let report = leaving.shutdown(Duration::ZERO).await.expect("shutdown");
    assert_eq!(report.attempts_finished, 0, "{report:?}");
    assert_eq!(report.tasks_released, 4, "{report:?}");
    assert_eq!(report.runs_released, 4, "{report:?}");
    for (n, run) in (0..4u32).zip(&runs) {
        other.signal(*run, "go", &1u32).await.expect("signal");
        let outcome = other.await_outcome(*run, Duration::from_secs(20)).await.expect("taken over at once");
        assert_eq!(outcome, RunOutcome::Completed(continuum::Payload::encode(&(n + 2)).unwrap()), "run {n}");
        assert_eq!(attempts(&journal, *run).await, vec![1, 1], "run {n}: the stopped attempt is not counted");
    }
    // A start on a runtime that shut down is journaled for the others.
    let late = leaving
        .start(step_wait_step, (tag.clone(), 99, 0), StartOptions::id(format!("{tag}-late")))
        .await
        .expect("a start after shutdown is handed over");
    other.signal(late.id(), "go", &1u32).await.expect("signal");
    let outcome = other.await_outcome(late.id(), Duration::from_secs(20)).await.expect("run by the other");
    assert_eq!(outcome, RunOutcome::Completed(continuum::Payload::encode(&101u32).unwrap()));
    other.shutdown(Duration::from_secs(5)).await.expect("the other shuts down too");
}
