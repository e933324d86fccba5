//! Versions across processes (two runtimes on one database stand in for
//! two processes): one serves versions 1 and 2 of a workflow, the other
//! only version 2. Runs that started on version 1 are resumed only by the
//! first; version 2 runs by either.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Journal};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

/// Names the process that ran it: each runtime registers its own body
/// under the activity name `stamp`.
#[activity(name = "stamp")]
async fn stamp_v1_and_v2(_input: ()) -> Result<String, ActivityError> {
    Ok("the v1+v2 process".into())
}

#[activity(name = "stamp")]
async fn stamp_v2_only(_input: ()) -> Result<String, ActivityError> {
    Ok("the v2-only process".into())
}

#[workflow(name = "pinned")]
async fn pinned_v1(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    ctx.sleep(millis(1500)).await;
    let who = ctx.activity(stamp_v1_and_v2, ()).await?;
    Ok(format!("v1 run {n} finished by {who}"))
}

#[workflow(name = "pinned")]
async fn pinned_v2(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    ctx.sleep(millis(300)).await;
    let who = ctx.activity(stamp_v1_and_v2, ()).await?;
    Ok(format!("v2 run {n} finished by {who}"))
}

async fn journal(db: &TestDatabase) -> Arc<dyn Journal> {
    let pg = PostgresJournal::connect_and_migrate(db.url())
        .await
        .expect("connect")
        .with_run_lease(Duration::from_millis(500));
    Arc::new(pg)
}

fn renewing_every(ms: u64) -> EngineConfig {
    EngineConfig { lease_renewal: Duration::from_millis(ms), ..EngineConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_resumed_only_by_a_process_that_has_its_version() {
    const OLD: u32 = 20;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    PostgresJournal::connect_and_migrate(db.url()).await.expect("connect and migrate");

    // The old deployment starts runs on version 1 and dies while they wait.
    let old = Runtime::builder()
        .journal(journal(&db).await)
        .workflow(pinned_v1)
        .activity(stamp_v1_and_v2)
        .engine_config(renewing_every(100))
        .start()
        .await
        .expect("old deployment");
    let mut v1_runs = Vec::new();
    for n in 0..OLD {
        v1_runs.push(old.start(pinned_v1, n, StartOptions::default()).await.unwrap().id());
    }
    drop(old);

    // The rolling deploy: one process keeps version 1, one has only 2. The
    // v2-only process looks for orphaned runs every 100 ms, the other only
    // every 2 s: the v2-only one sees the v1 runs first, and must leave
    // them to the process that has their version.
    let both = Runtime::builder()
        .journal(journal(&db).await)
        .workflow(pinned_v2)
        .workflow_version(pinned_v1)
        .activity(stamp_v1_and_v2)
        .engine_config(renewing_every(2000))
        .start()
        .await
        .expect("v1+v2 process");
    let v2_only = Runtime::builder()
        .journal(journal(&db).await)
        .workflow(pinned_v2)
        .activity(stamp_v2_only)
        .engine_config(renewing_every(100))
        .start()
        .await
        .expect("v2-only process");
    let mut v2_runs = Vec::new();
    for n in 0..10 {
        v2_runs.push(v2_only.start(pinned_v2, n, StartOptions::default()).await.unwrap().id());
    }

    for (n, run) in v1_runs.iter().enumerate() {
        let out = both.await_outcome(*run, Duration::from_secs(30)).await.expect("v1 run ends");
        let continuum::RunOutcome::Completed(out) = out else { panic!("{out:?}") };
        assert_eq!(out.decode::<String>().unwrap(), format!("v1 run {n} finished by the v1+v2 process"));
    }
    for run in &v2_runs {
        let out = v2_only.await_outcome(*run, Duration::from_secs(30)).await.expect("v2 run ends");
        assert!(matches!(out, continuum::RunOutcome::Completed(_)), "{out:?}");
    }
    assert_eq!(v2_only.stats().await.unwrap().runs_replayed, 0, "the v2-only process never resumed a v1 run");
    assert!(v2_only.unservable_runs().await.unwrap().is_empty());
    drop((both, v2_only));
    db.drop_database().await.expect("drop");
}
