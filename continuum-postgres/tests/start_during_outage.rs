//! A process that starts while its database is down (restarting, a network
//! blip) waits for it and then serves, the way a running process rides out
//! a restart — it does not exit. Its own test binary: it stops the
//! throwaway server, which the other tests of a binary share.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, Journal};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::{StopMode, TestDatabase, start_server, stop_server};

#[workflow]
async fn nap(ctx: &WorkflowContext, ms: u64) -> Result<u64, WorkflowError> {
    ctx.sleep(millis(ms)).await;
    Ok(ms)
}

async fn runtime(journal: PostgresJournal) -> Result<Runtime, continuum::JournalError> {
    Runtime::builder()
        .journal(Arc::new(journal) as Arc<dyn Journal>)
        .workflow(nap)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(200), ..EngineConfig::default() })
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_starting_while_the_database_is_down_serves_once_it_is_back() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let connect = || async {
        PostgresJournal::connect_and_migrate(db.url())
            .await
            .expect("connect")
            .with_run_lease(Duration::from_millis(500))
    };
    // A run left behind by a process that died, for the next one to adopt.
    let first = runtime(connect().await).await.expect("first process");
    let run = first.start(nap, 1500, StartOptions::id("left-behind")).await.unwrap().id();
    drop(first);

    let journal = connect().await;
    tokio::task::spawn_blocking(|| stop_server(StopMode::Fast)).await.unwrap().expect("stop");
    let starting = tokio::spawn(runtime(journal));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!starting.is_finished(), "still waiting for the database, not exited");
    tokio::task::spawn_blocking(start_server).await.unwrap().expect("start");
    let second = tokio::time::timeout(Duration::from_secs(60), starting)
        .await
        .expect("started within a minute of the database's return")
        .unwrap()
        .expect("the start rode out the outage");
    let outcome = second.await_outcome(run, Duration::from_secs(30)).await.unwrap();
    assert_eq!(outcome, continuum::RunOutcome::Completed(continuum::Payload::encode(&1500u64).unwrap()));
    drop(second);
    db.drop_database().await.expect("drop");
}
