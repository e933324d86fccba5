//! One behaviour suite, two journals: the conformance suite of
//! `continuum_testkit::conformance` runs against the in-memory journal and
//! against PostgreSQL (a fresh database per test, from
//! `continuum_testkit::postgres`), through the same runtime. Below it, the
//! tests only PostgreSQL can run: a corrupted row, several processes on
//! one database, an unreachable server.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{EngineConfig, InMemoryJournal, Journal, JournalError, RunOutcome, RunStatus};
use continuum_postgres::PostgresJournal;
use continuum_testkit::conformance::JournalUnderTest;
use continuum_testkit::conformance::harness::{kinds, runtime, wait_for};
use continuum_testkit::conformance::runs::add_one;
use continuum_testkit::conformance::signals::two_signals;
use continuum_testkit::postgres::TestDatabase;

async fn memory_journal() -> JournalUnderTest {
    JournalUnderTest::new(InMemoryJournal::new())
}

async fn postgres_journal() -> JournalUnderTest {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    // Short run leases: a runtime started after another one "died"
    // adopts its runs once their leases lapse.
    let journal = PostgresJournal::connect_and_migrate(db.url())
        .await
        .expect("connect")
        .with_run_lease(Duration::from_millis(500));
    JournalUnderTest::new(journal).cleanup_with(async move {
        let _ = db.drop_database().await;
    })
}

mod memory {
    continuum_testkit::conformance_tests!(super::memory_journal);
}

mod postgres {
    continuum_testkit::conformance_tests!(super::postgres_journal);
}

/// PostgreSQL only: an event row that no longer decodes fails its run with
/// a typed error naming the event; other runs are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_stored_event_fails_its_run_naming_the_seq_and_spares_others() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let pg = PostgresJournal::connect_and_migrate(db.url())
        .await
        .expect("connect")
        .with_run_lease(Duration::from_millis(500));
    let journal: Arc<dyn Journal> = Arc::new(pg.clone());
    let first = runtime(journal.clone()).await;
    let broken = first.start(two_signals, (), StartOptions::id("broken")).await.unwrap().id();
    let healthy = first.start(two_signals, (), StartOptions::id("healthy")).await.unwrap().id();
    wait_for(&journal, broken, "signal_awaited").await;
    wait_for(&journal, healthy, "signal_awaited").await;
    drop(first);
    sqlx::query(
        "UPDATE continuum_events SET event = '{\"seq\": 2, \"type\": \"no_such_event\"}' WHERE run_id = $1 AND seq = 2",
    )
    .bind(broken.0)
    .execute(pg.pool())
    .await
    .unwrap();
    assert!(matches!(journal.history(broken).await, Err(JournalError::CorruptEvent { seq: 2, .. })));

    let second = runtime(journal.clone()).await;
    second.signal(healthy, "word", &"a").await.unwrap();
    second.signal(healthy, "word", &"b").await.unwrap();
    let outcome = second.await_outcome(broken, Duration::from_secs(20)).await.unwrap();
    match outcome {
        RunOutcome::Failed(continuum::RunFailure::HistoryDecode { run, seq, .. }) => {
            assert_eq!((run, seq), (broken, 2));
        }
        other => panic!("{other:?}"),
    }
    let healthy_outcome = second.await_outcome(healthy, Duration::from_secs(20)).await.unwrap();
    assert!(matches!(healthy_outcome, RunOutcome::Completed(_)), "{healthy_outcome:?}");
    drop(second);
    drop(journal);
    drop(pg);
    let _ = db.drop_database().await;
}

#[workflow]
async fn one_remote_step(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(add_one, n).await?)
}

/// PostgreSQL only: two runtimes share the journal like two processes.
/// One serves the run but cannot run its activity; the other runs the
/// activity and records the result on the task. The owner hears of it
/// through NOTIFY (its periodic check is an hour away) and finishes the
/// run; the run never moves to the worker's process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_recorded_by_another_process_wakes_the_run_owner() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let pg = PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
    let journal: Arc<dyn Journal> = Arc::new(pg.clone());
    let slow_checks = EngineConfig { lease_renewal: Duration::from_secs(3600), ..EngineConfig::default() };
    let owner = Runtime::builder()
        .journal(journal.clone())
        .workflow(one_remote_step)
        .engine_config(slow_checks)
        .start()
        .await
        .expect("owner starts");
    let worker = Runtime::builder()
        .journal(journal.clone())
        .activity(add_one)
        .engine_config(slow_checks)
        .start()
        .await
        .expect("worker starts");
    let run = owner.start(one_remote_step, 41, StartOptions::id("remote-step")).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), 42);
    let owner_stats = owner.stats().await.unwrap();
    let worker_stats = worker.stats().await.unwrap();
    assert_eq!(owner_stats.runs_replayed, 0, "the owner kept the run live");
    assert_eq!(worker_stats.appends, 0, "the worker's process never wrote to the run");
    let kinds = kinds(&journal.history(run.id()).await.unwrap());
    assert_eq!(kinds, ["run_started", "activity_scheduled", "activity_completed", "run_completed"]);
    drop((owner, worker, journal, pg));
    let _ = db.drop_database().await;
}

/// No database at the address: `connect` fails at once with a typed error
/// naming the address (never the password); `connect_with_retry` keeps
/// trying with backoff for the time it is given, then fails the same way.
#[tokio::test]
async fn an_unreachable_database_is_a_typed_error_naming_its_address() {
    use continuum_postgres::PostgresError;
    // Port 1 on loopback: nothing listens there.
    let url = "postgres://app:s3cret@127.0.0.1:1/app";
    let err = PostgresJournal::connect(url).await.expect_err("nothing listens there");
    match &err {
        PostgresError::Connect { address, .. } => assert_eq!(address, "postgres://app@127.0.0.1:1/app"),
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("s3cret"), "{err}");

    let started = std::time::Instant::now();
    let err = PostgresJournal::connect_with_retry(url, Duration::from_secs(1)).await.expect_err("still nothing");
    assert!(matches!(err, PostgresError::Connect { .. }), "{err:?}");
    // Attempts at 0, 0.1, 0.3 and 0.7 s; the next would end past the budget.
    assert!(started.elapsed() >= Duration::from_millis(700), "it retried for its budget: {:?}", started.elapsed());
}

#[workflow]
async fn short_timer(ctx: &WorkflowContext, ms: u64) -> Result<u64, WorkflowError> {
    ctx.sleep(millis(ms)).await;
    Ok(ms)
}

/// PostgreSQL only: runs served by one runtime are cancelled from another
/// runtime (another process) just as their timers fire. Each ends exactly
/// once — cancelled if the cancel won, completed if the timer did, and the
/// cancel says which — and nothing is appended after the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_another_process_racing_a_timer_ends_the_run_once() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let connect = || async {
        let pg = PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
        Arc::new(pg) as Arc<dyn Journal>
    };
    let journal = connect().await;
    let quick = EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() };
    let owner =
        Runtime::builder().journal(journal.clone()).workflow(short_timer).engine_config(quick).start().await.unwrap();
    let other = Runtime::builder().journal(connect().await).engine_config(quick).start().await.unwrap();
    let (mut cancelled, mut completed) = (0, 0);
    for i in 0..30u64 {
        let ms = 100;
        let run = owner.start(short_timer, ms, StartOptions::default()).await.unwrap().id();
        // From a little before the fire time to a little after.
        tokio::time::sleep(Duration::from_millis(ms - 12 + (i % 6) * 4)).await;
        let cancel = other.cancel(run, Some("racing".into())).await;
        let outcome = owner.await_outcome(run, Duration::from_secs(10)).await.unwrap();
        match (&cancel, &outcome) {
            (Ok(()), RunOutcome::Cancelled(Some(reason))) if reason == "racing" => cancelled += 1,
            (
                Err(continuum::CancelError::RunTerminal { status: RunStatus::Completed, .. }),
                RunOutcome::Completed(_),
            ) => {
                completed += 1;
            }
            other => panic!("run {i}: cancel and outcome disagree: {other:?}"),
        }
        let history = journal.history(run).await.unwrap();
        let ends = history.iter().filter(|e| e.event.is_terminal()).count();
        assert_eq!(ends, 1, "run {i}: {:?}", kinds(&history));
        assert!(history.last().unwrap().event.is_terminal(), "run {i}: nothing after the end");
    }
    assert_eq!(cancelled + completed, 30);
    drop((owner, other, journal));
    let _ = db.drop_database().await;
}
