//! A database restart (`pg_ctl restart`) in the middle of a load: the
//! runtime reconnects, nothing is lost, every run completes with an exact
//! history. Needs the throwaway cluster (not a server from DATABASE_URL),
//! since it restarts the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum::prelude::*;
use continuum::{EngineConfig, Journal, RunStatus, WorkerConfig};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::{TestDatabase, restart_server};

#[activity(retry(max_attempts = 5, initial = "50ms", max = "500ms"))]
async fn double(n: u32) -> Result<u32, ActivityError> {
    Ok(n * 2)
}

#[workflow]
async fn two_steps(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(double, n).await?;
    ctx.sleep(millis(300)).await;
    Ok(ctx.activity(double, n).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_loses_nothing() {
    const RUNS: u32 = 200;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let pg =
        PostgresJournal::connect_and_migrate(db.url()).await.expect("connect").with_run_lease(Duration::from_secs(1));
    let journal: Arc<dyn Journal> = Arc::new(pg.clone());
    let runtime = Runtime::builder()
        .journal(journal.clone())
        .workflow(two_steps)
        .activity(double)
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(2), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(200), ..EngineConfig::default() })
        .start()
        .await
        .expect("runtime");
    let mut runs = Vec::new();
    for n in 0..RUNS {
        runs.push((n, runtime.start(two_steps, n, StartOptions::id(format!("r-{n}"))).await.expect("start").id()));
    }
    // Restart while runs are between their steps.
    let done: i64 = sqlx::query_scalar("SELECT count(*) FROM continuum_runs WHERE status = 'completed'")
        .fetch_one(pg.pool())
        .await
        .expect("count");
    assert!(done < i64::from(RUNS), "all runs finished before the restart; it would prove nothing");
    tokio::task::spawn_blocking(|| restart_server().unwrap_or_else(|e| panic!("{e}"))).await.expect("restart");

    let deadline = Instant::now() + Duration::from_secs(120);
    for (n, run) in &runs {
        loop {
            match journal.run_info(*run).await {
                Ok(info) if info.status == RunStatus::Completed => break,
                Ok(info) => assert_eq!(info.status, RunStatus::Running, "r-{n}"),
                Err(_) => {} // reconnecting
            }
            assert!(Instant::now() < deadline, "r-{n} did not complete after the restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let out = runtime.await_outcome(*run, Duration::from_secs(10)).await.expect("outcome");
        let continuum::RunOutcome::Completed(out) = out else { panic!("r-{n}: {out:?}") };
        assert_eq!(out.decode::<u32>().expect("u32"), n * 4);
        let kinds: Vec<_> = journal.history(*run).await.expect("history").iter().map(|e| e.event.type_name()).collect();
        assert_eq!(
            kinds,
            [
                "run_started",
                "activity_scheduled",
                "activity_completed",
                "timer_started",
                "timer_fired",
                "activity_scheduled",
                "activity_completed",
                "run_completed",
            ],
            "r-{n}"
        );
    }
    drop(runtime);
    drop(journal);
    drop(pg);
    let _ = db.drop_database().await;
}
