//! PostgreSQL only: several processes (runtimes) on one database, and the
//! group commit meeting a write the database rejects.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::{CreateRun, Lease, NewActivityTask, RunAppend, RunWrite};
use continuum::prelude::*;
use continuum::{EngineConfig, Event, HistoryEvent, Journal, JournalError, RetryPolicy, RunId, RunStatus, VersionHash};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

async fn database() -> (TestDatabase, PostgresJournal) {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let pg =
        PostgresJournal::connect_and_migrate(db.url()).await.expect("connect").with_run_lease(Duration::from_secs(5));
    (db, pg)
}

async fn process(url: &str, serve: bool) -> Runtime {
    let journal =
        PostgresJournal::connect_and_migrate(url).await.expect("connect").with_run_lease(Duration::from_secs(5));
    let builder = Runtime::builder()
        .journal(Arc::new(journal) as Arc<dyn Journal>)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(500), ..EngineConfig::default() });
    let builder = if serve { builder.workflow(collects_words).workflow(stamps).activity(stamp) } else { builder };
    builder.start().await.expect("runtime")
}

/// Takes `n` signals named `word`, in the order it is given them.
#[workflow]
async fn collects_words(ctx: &WorkflowContext, n: u32) -> Result<Vec<u32>, WorkflowError> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(ctx.signal::<u32>("word").await?);
    }
    Ok(got)
}

/// Same-name signals sent one after another, alternately through the
/// run's owner and through another process, are consumed in the order
/// they were sent: a signal sent through the owner does not overtake an
/// earlier one still on its way from the other process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_name_signals_sent_through_two_processes_are_consumed_in_send_order() {
    const SIGNALS: u32 = 60;
    let (db, _pg) = database().await;
    let owner = process(db.url(), true).await;
    let other = process(db.url(), false).await;
    let run = owner.start(collects_words, SIGNALS, StartOptions::default()).await.unwrap().id();
    for i in 0..SIGNALS {
        let through = if i % 2 == 0 { &other } else { &owner };
        through.signal(run, "word", &i).await.unwrap();
    }
    let outcome = owner.await_outcome(run, Duration::from_secs(30)).await.unwrap();
    let got: Vec<u32> = match outcome {
        continuum::RunOutcome::Completed(out) => out.decode().unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(got, (0..SIGNALS).collect::<Vec<_>>());
    drop((owner, other));
    db.drop_database().await.expect("drop");
}

/// A new value on every call, after a pause long enough for the calls of
/// both processes to be running at once.
#[activity]
async fn stamp(tag: String) -> Result<String, ActivityError> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(format!("{tag}-{}", RunId::new_random()))
}

#[workflow]
async fn stamps(ctx: &WorkflowContext, tag: String) -> Result<String, WorkflowError> {
    Ok(ctx.activity(stamp, tag.clone()).idempotency_key(format!("key-{tag}")).await?)
}

/// Runs in two processes call one activity with one idempotency key at the
/// same time; both attempts run and produce different values, and both
/// runs journal the one stored first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_two_processes_with_one_idempotency_key_journal_one_result() {
    let (db, pg) = database().await;
    let a = process(db.url(), true).await;
    let b = process(db.url(), true).await;
    for round in 0..5 {
        let tag = format!("round-{round}");
        let (ra, rb) = tokio::join!(
            a.start(stamps, tag.clone(), StartOptions::default()),
            b.start(stamps, tag.clone(), StartOptions::default())
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let (oa, ob) = tokio::join!(ra.result(Duration::from_secs(20)), rb.result(Duration::from_secs(20)));
        let (oa, ob) = (oa.unwrap(), ob.unwrap());
        assert_eq!(oa, ob, "one result per key");
        let stored: String = sqlx::query_scalar(
            "SELECT output FROM continuum_activity_results WHERE activity = 'stamp' AND idempotency_key = $1",
        )
        .bind(format!("key-{tag}"))
        .fetch_one(pg.pool())
        .await
        .unwrap();
        assert_eq!(stored, serde_json::to_string(&oa).unwrap(), "the runs journal the stored result");
    }
    drop((a, b));
    db.drop_database().await.expect("drop");
}

fn started(workflow_id: &str) -> RunWrite {
    let run = RunId::new_random();
    RunWrite {
        create: Some(CreateRun::new(workflow_id)),
        append: RunAppend::events(
            Lease { run, token: 0 },
            vec![HistoryEvent {
                seq: 1,
                at: chrono::Utc::now(),
                event: Event::RunStarted {
                    workflow: "w".into(),
                    version: VersionHash([0; 32]),
                    input: continuum::Payload::unit(),
                    parent: None,
                    continued_from: None,
                    deadline: None,
                },
            }],
        ),
    }
}

fn task(seq: u64) -> NewActivityTask {
    NewActivityTask {
        seq,
        activity: "a".into(),
        input: continuum::Payload::unit(),
        retry: RetryPolicy::default(),
        timeout: None,
        idempotency_key: None,
        lease_to_writer: None,
    }
}

/// A write the database itself rejects (here: two tasks under one seq,
/// which the task table's key forbids) is refused on its own with
/// `WriteRefused`; the other writes of the same commit are applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_database_rejects_is_refused_alone_and_the_rest_of_the_commit_applies() {
    let (db, pg) = database().await;
    let mut writes: Vec<RunWrite> = (0..7).map(|i| started(&format!("ok-{i}"))).collect();
    let mut bad = started("bad");
    bad.append.new_tasks = vec![task(1), task(1)];
    writes.insert(3, bad);
    let results = pg.commit(writes.clone()).await.expect("the commit as a whole goes through");
    for (i, (write, result)) in writes.iter().zip(&results).enumerate() {
        let run = write.append.lease.run;
        if i == 3 {
            assert!(matches!(result, Err(JournalError::WriteRefused { run: r, .. }) if *r == run), "{result:?}");
            assert!(matches!(pg.run_info(run).await, Err(JournalError::RunNotFound(_))), "nothing of it applied");
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
            assert_eq!(pg.run_info(run).await.unwrap().status, RunStatus::Running);
        }
    }
    db.drop_database().await.expect("drop");
}
