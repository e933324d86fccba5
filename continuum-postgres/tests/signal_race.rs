//! A signal sent from one process while another is parking the run on
//! `ctx.signal` must never be stranded (the lost-wakeup race of the seeds).
//! Two runtimes on one database stand in for two processes: one starts
//! each run, the other signals it at once, racing the park.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Journal, RunOutcome};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

#[workflow]
async fn wait_for_go(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let go: u32 = ctx.signal("go").await?;
    Ok(n + go)
}

async fn runtime(url: &str) -> Runtime {
    let journal = PostgresJournal::connect(url).await.expect("connect").with_run_lease(Duration::from_secs(2));
    Runtime::builder()
        .journal(Arc::new(journal) as Arc<dyn Journal>)
        .workflow(wait_for_go)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(300), ..EngineConfig::default() })
        .start()
        .await
        .expect("runtime")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_racing_the_park_is_never_stranded() {
    const RUNS: u32 = 1000;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    PostgresJournal::connect(db.url()).await.expect("connect").migrate().await.expect("migrate");
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
    let mut stranded = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (n, outcome) = done.expect("task");
        match outcome {
            Ok(RunOutcome::Completed(out)) => assert_eq!(out.decode::<u32>().expect("u32"), n + 1),
            other => stranded.push((n, format!("{other:?}"))),
        }
    }
    assert!(stranded.is_empty(), "{} of {RUNS} runs stranded, e.g. {:?}", stranded.len(), stranded.first());
    drop((starter, signaller));
    db.drop_database().await.expect("drop");
}
