//! A signal sent from one process while another is parking the run on
//! `ctx.signal` must never be stranded (the lost-wakeup race of the seeds).
//! Two runtimes on one database stand in for two processes: one starts
//! each run, the other signals it, racing the park — at the natural pace,
//! and with the park's write slowed down to widen the window.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Journal, RunOutcome};
use continuum_postgres::PostgresJournal;
use continuum_testkit::faults::{FaultyJournal, Op};
use continuum_testkit::postgres::TestDatabase;

#[workflow]
async fn wait_for_go(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let go: u32 = ctx.signal("go").await?;
    Ok(n + go)
}

async fn runtime(url: &str) -> Runtime {
    let journal =
        PostgresJournal::connect_and_migrate(url).await.expect("connect").with_run_lease(Duration::from_secs(2));
    Runtime::builder()
        .journal(Arc::new(journal) as Arc<dyn Journal>)
        .workflow(wait_for_go)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(300), ..EngineConfig::default() })
        .start()
        .await
        .expect("runtime")
}

/// Every run ended with its input plus the signal's 1.
async fn assert_none_stranded(
    tasks: &mut tokio::task::JoinSet<(u32, Result<RunOutcome, continuum::AwaitError>)>,
    runs: u32,
) {
    let mut stranded = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (n, outcome) = done.expect("task");
        match outcome {
            Ok(RunOutcome::Completed(out)) => assert_eq!(out.decode::<u32>().expect("u32"), n + 1),
            other => stranded.push((n, format!("{other:?}"))),
        }
    }
    assert!(stranded.is_empty(), "{} of {runs} runs stranded, e.g. {:?}", stranded.len(), stranded.first());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_racing_the_park_is_never_stranded() {
    const RUNS: u32 = 1000;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    PostgresJournal::connect_and_migrate(db.url()).await.expect("connect and migrate");
    let starter = Arc::new(runtime(db.url()).await);
    let signaller = Arc::new(runtime(db.url()).await);
    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    for n in 0..RUNS {
        let (starter, signaller, gate) = (starter.clone(), signaller.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            let run = starter.start(wait_for_go, n, StartOptions::id(format!("race-{n}"))).await.expect("start");
            signaller.signal(run.id(), "go", &1u32).await.expect("signal");
            let outcome = starter.await_outcome(run.id(), Duration::from_secs(60)).await;
            (n, outcome)
        });
    }
    assert_none_stranded(&mut tasks, RUNS).await;
    drop((starter, signaller));
    db.drop_database().await.expect("drop");
}

#[activity]
async fn warm_up(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

/// Parks on the signal in the same write that journals the activity's
/// result: that write is the one slowed down.
#[workflow]
async fn step_then_wait(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(warm_up, n).await?;
    let go: u32 = ctx.signal("go").await?;
    Ok(n + go)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_sent_while_the_park_is_being_journaled_is_delivered_by_notify_alone() {
    const RUNS: u32 = 1000;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let connect = || async {
        // Leases and checks an hour long: the owner's periodic look at the
        // journal never runs during the test, so a signal reaches it
        // through NOTIFY or not at all.
        PostgresJournal::connect_and_migrate(db.url()).await.expect("connect").with_run_lease(Duration::from_secs(3600))
    };
    let pg = connect().await;
    let hourly = EngineConfig { lease_renewal: Duration::from_secs(1800), ..EngineConfig::default() };
    // The owner's commits wait before they are sent: the window between a
    // run deciding to park and the park being journaled is widened, so a
    // signal sent from another process lands inside it far more often.
    let slow = FaultyJournal::new(Arc::new(pg));
    slow.delay(Op::Commit, Duration::from_millis(3));
    let owner = Arc::new(
        Runtime::builder()
            .journal(slow as Arc<dyn Journal>)
            .workflow(step_then_wait)
            .activity(warm_up)
            .engine_config(hourly)
            .start()
            .await
            .expect("owner"),
    );
    let signaller = Arc::new(
        Runtime::builder()
            .journal(Arc::new(connect().await) as Arc<dyn Journal>)
            .engine_config(hourly)
            .start()
            .await
            .expect("signaller"),
    );
    let mut tasks = tokio::task::JoinSet::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    for n in 0..RUNS {
        let (owner, signaller, gate) = (owner.clone(), signaller.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("gate");
            let run = owner.start(step_then_wait, n, StartOptions::id(format!("park-{n}"))).await.expect("start");
            // Somewhere in the park's window: the activity runs right
            // after the start, and its result's write takes 3 ms or more.
            tokio::time::sleep(Duration::from_micros(u64::from(n % 8) * 500)).await;
            signaller.signal(run.id(), "go", &1u32).await.expect("signal");
            (n, owner.await_outcome(run.id(), Duration::from_secs(30)).await)
        });
    }
    assert_none_stranded(&mut tasks, RUNS).await;
    drop((owner, signaller));
    db.drop_database().await.expect("drop");
}
