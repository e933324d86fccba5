//! One behaviour suite, two journals: every test here runs against the
//! in-memory journal and against PostgreSQL (a fresh database per test,
//! from `continuum_testkit::postgres`), through the same runtime.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::{AttemptResult, NewActivityTask, NewRun, RunAppend};
use continuum::prelude::*;
use continuum::{
    ActivityErrorKind, EngineConfig, Event, HistoryEvent, InMemoryJournal, Journal, JournalError, Payload, RetryPolicy,
    RunOutcome, RunStatus, SignalSendError, StartError, VersionHash, WorkerConfig,
};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

/// A journal under test, and what to clean up after.
struct Subject {
    journal: Arc<dyn Journal>,
    db: Option<TestDatabase>,
}

impl Subject {
    async fn memory() -> Subject {
        Subject { journal: Arc::new(InMemoryJournal::new()), db: None }
    }

    async fn postgres() -> Subject {
        let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
        // Short run leases: a runtime started after another one "died"
        // adopts its runs once their leases lapse.
        let journal =
            PostgresJournal::connect(db.url()).await.expect("connect").with_run_lease(Duration::from_millis(500));
        journal.migrate().await.expect("migrate");
        Subject { journal: Arc::new(journal), db: Some(db) }
    }

    async fn finish(self) {
        drop(self.journal);
        if let Some(db) = self.db {
            let _ = db.drop_database().await;
        }
    }
}

/// Generates `mod memory { #[tokio::test] fn name() }` and `mod postgres`.
macro_rules! both_journals {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let s = super::Subject::memory().await;
                    super::$name(s.journal.clone()).await;
                    s.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let s = super::Subject::postgres().await;
                    super::$name(s.journal.clone()).await;
                    s.finish().await;
                }
            )*
        }
    };
}

both_journals!(
    crash_resume_replays_and_finishes_with_the_exact_history,
    signal_sent_before_its_await_is_consumed_and_same_name_signals_are_fifo,
    activity_failing_twice_then_succeeding_completes_with_three_attempts,
    cancel_during_a_timer_ends_the_run_cancelled_with_nothing_after,
    duplicate_ids_and_signals_to_missing_or_ended_runs_are_typed_errors,
    a_fenced_writer_cannot_append,
    a_crash_during_the_last_attempt_fails_the_task_without_rerunning_it,
    an_idempotency_key_reuses_the_stored_result,
    hostile_ids_and_names_are_stored_verbatim_or_refused,
);

#[activity(retry(max_attempts = 3, initial = "10ms"))]
async fn add_one(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

#[workflow]
async fn activity_timer_activity(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(add_one, n).await?;
    ctx.sleep(millis(600)).await;
    let n = ctx.activity(add_one, n).await?;
    Ok(n)
}

#[workflow]
async fn two_signals(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let a: String = ctx.signal("word").await?;
    let b: String = ctx.signal("word").await?;
    Ok(format!("{a} {b}"))
}

/// Calls per tag: tests run in parallel, so each counts its own.
static FLAKY_CALLS: std::sync::Mutex<std::collections::BTreeMap<String, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

#[activity(retry(max_attempts = 3, initial = "10ms", max = "20ms"))]
async fn flaky(tag: String) -> Result<String, ActivityError> {
    // Fails on the first two calls for its tag.
    let n = {
        let mut calls = FLAKY_CALLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = calls.entry(tag.clone()).or_insert(0);
        *n += 1;
        *n
    };
    if n <= 2 {
        return Err(ActivityError::retryable(format!("transient {tag}")));
    }
    Ok(format!("ok {tag}"))
}

#[workflow]
async fn uses_flaky(ctx: &WorkflowContext, tag: String) -> Result<String, WorkflowError> {
    Ok(ctx.activity(flaky, tag).await?)
}

#[workflow]
async fn long_timer(ctx: &WorkflowContext, _input: ()) -> Result<(), WorkflowError> {
    ctx.sleep(hours(1)).await;
    Ok(())
}

async fn runtime(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(activity_timer_activity)
        .workflow(two_signals)
        .workflow(uses_flaky)
        .workflow(long_timer)
        .activity(add_one)
        .activity(flaky)
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(2), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() })
        .start()
        .await
        .expect("runtime starts")
}

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

async fn wait_for(journal: &Arc<dyn Journal>, run: continuum::RunId, kind: &str) {
    for _ in 0..500 {
        if journal.history(run).await.unwrap().iter().any(|e| e.event.type_name() == kind) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run} never journaled {kind}");
}

async fn crash_resume_replays_and_finishes_with_the_exact_history(journal: Arc<dyn Journal>) {
    let first = runtime(journal.clone()).await;
    let run = first.start(activity_timer_activity, 1, StartOptions::id("crash-resume")).await.unwrap().id();
    wait_for(&journal, run, "timer_started").await;
    drop(first); // the process "dies" during the timer; the journal stays

    let second = runtime(journal.clone()).await;
    let outcome = second.await_outcome(run, Duration::from_secs(20)).await.unwrap();
    let RunOutcome::Completed(out) = outcome else { panic!("{outcome:?}") };
    assert_eq!(out.decode::<u32>().unwrap(), 3);
    assert_eq!(
        kinds(&journal.history(run).await.unwrap()),
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "timer_started",
            "timer_fired",
            "activity_scheduled",
            "activity_completed",
            "run_completed",
        ]
    );
    assert!(second.stats().await.unwrap_or_default().runs_replayed >= 1, "the second runtime replayed the run");
}

async fn signal_sent_before_its_await_is_consumed_and_same_name_signals_are_fifo(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let run = rt.start(two_signals, (), StartOptions::id("fifo")).await.unwrap();
    run.signal("word", &"first").await.unwrap();
    run.signal("word", &"second").await.unwrap();
    assert_eq!(run.result(Duration::from_secs(20)).await.unwrap(), "first second");
    assert!(journal.mailbox(run.id()).await.unwrap().is_empty(), "both signals consumed");
}

async fn activity_failing_twice_then_succeeding_completes_with_three_attempts(journal: Arc<dyn Journal>) {
    let tag = continuum::RunId::new_random().to_string();
    let rt = runtime(journal.clone()).await;
    let run = rt.start(uses_flaky, tag.clone(), StartOptions::id("flaky")).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(20)).await.unwrap(), format!("ok {tag}"));
    let history = journal.history(run.id()).await.unwrap();
    let attempts = history.iter().find_map(|e| match &e.event {
        Event::ActivityCompleted { attempts, .. } => Some(*attempts),
        _ => None,
    });
    assert_eq!(attempts, Some(3));
}

async fn cancel_during_a_timer_ends_the_run_cancelled_with_nothing_after(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let run = rt.start(long_timer, (), StartOptions::id("cancel")).await.unwrap();
    wait_for(&journal, run.id(), "timer_started").await;
    run.cancel(Some("customer asked".into())).await.unwrap();
    let outcome = rt.await_outcome(run.id(), Duration::from_secs(20)).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Cancelled(_)), "{outcome:?}");
    assert_eq!(journal.run_info(run.id()).await.unwrap().status, RunStatus::Cancelled);
    let history = journal.history(run.id()).await.unwrap();
    assert_eq!(history.last().unwrap().event.type_name(), "run_cancelled");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(journal.history(run.id()).await.unwrap().len(), history.len(), "nothing appended after the cancel");
}

async fn duplicate_ids_and_signals_to_missing_or_ended_runs_are_typed_errors(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let run = rt.start(two_signals, (), StartOptions::id("dup")).await.unwrap();
    let again = rt.start(two_signals, (), StartOptions::id("dup")).await;
    assert!(matches!(again, Err(StartError::DuplicateWorkflowId { existing, .. }) if existing == run.id()));
    let missing = rt.signal(continuum::RunId::new_random(), "word", &"x").await;
    assert!(matches!(missing, Err(SignalSendError::RunNotFound(_))), "{missing:?}");
    run.cancel(None).await.unwrap();
    rt.await_outcome(run.id(), Duration::from_secs(20)).await.unwrap();
    let ended = rt.signal(run.id(), "word", &"x").await;
    assert!(matches!(ended, Err(SignalSendError::RunTerminal { .. })), "{ended:?}");
}

fn new_run(workflow_id: &str) -> NewRun {
    NewRun {
        id: continuum::RunId::new_random(),
        workflow_id: workflow_id.to_string(),
        workflow: "journal_only".into(),
        version: VersionHash([7; 32]),
        input: Payload::unit(),
    }
}

fn task(seq: u64, max_attempts: u32, key: Option<&str>) -> NewActivityTask {
    NewActivityTask {
        seq,
        activity: "charge".into(),
        input: Payload::encode(&42).unwrap(),
        retry: RetryPolicy { max_attempts, ..RetryPolicy::default() },
        timeout: None,
        idempotency_key: key.map(String::from),
        lease_to_writer: None,
    }
}

fn scheduled(seq: u64, t: &NewActivityTask) -> HistoryEvent {
    HistoryEvent {
        seq,
        at: chrono::Utc::now(),
        event: Event::ActivityScheduled {
            site: continuum::SiteId(1),
            activity: t.activity.clone(),
            input: t.input.clone(),
        },
    }
}

async fn a_fenced_writer_cannot_append(journal: Arc<dyn Journal>) {
    let stale = journal.create_run(new_run("fence")).await.unwrap();
    let fresh = journal.acquire_run(stale.run).await.unwrap();
    assert!(fresh.token > stale.token);
    let t = task(2, 3, None);
    let write = |lease| RunAppend {
        lease,
        events: vec![scheduled(2, &t)],
        new_tasks: vec![t.clone()],
        resolved_tasks: vec![],
        consumed_signals: vec![],
        stored_results: vec![],
    };
    let late = journal.append(write(stale.clone())).await;
    assert!(
        matches!(late, Err(JournalError::Fenced { presented, current, .. }) if presented == stale.token && current == fresh.token),
        "{late:?}"
    );
    assert_eq!(journal.history(stale.run).await.unwrap().len(), 1, "the stale write was not applied");
    journal.append(write(fresh)).await.unwrap();
    assert_eq!(journal.history(stale.run).await.unwrap().len(), 2);
}

async fn append_task(journal: &Arc<dyn Journal>, workflow_id: &str, t: NewActivityTask) -> continuum::RunId {
    let lease = journal.create_run(new_run(workflow_id)).await.unwrap();
    let append = RunAppend {
        lease: lease.clone(),
        events: vec![scheduled(2, &t)],
        new_tasks: vec![t],
        resolved_tasks: vec![],
        consumed_signals: vec![],
        stored_results: vec![],
    };
    journal.append(append).await.unwrap();
    lease.run
}

async fn a_crash_during_the_last_attempt_fails_the_task_without_rerunning_it(journal: Arc<dyn Journal>) {
    let run = append_task(&journal, "lost-attempt", task(2, 1, None)).await;
    let claim = journal.claim_tasks(10, Duration::from_millis(200)).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
    // The worker dies holding attempt 1 of 1. Once its lease lapses, the
    // next claim settles the task as failed instead of running it again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = journal.claim_tasks(10, Duration::from_secs(5)).await.unwrap();
    assert!(again.tasks.is_empty(), "never silently re-run");
    assert_eq!(again.settled.len(), 1);
    let err = again.settled[0].result.clone().unwrap_err();
    assert_eq!(err.kind, ActivityErrorKind::AttemptsExhausted);
    // The dead worker's late report is fenced out.
    let late = journal.finish_attempt(&claim.tasks[0], AttemptResult::Completed(Payload::unit())).await;
    assert!(matches!(late, Err(JournalError::Fenced { .. })), "{late:?}");
    assert_eq!(journal.finished_tasks(run).await.unwrap().len(), 1);
}

async fn an_idempotency_key_reuses_the_stored_result(journal: Arc<dyn Journal>) {
    append_task(&journal, "idem-1", task(2, 3, Some("order-42"))).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5)).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
    let out = Payload::encode(&"charged once").unwrap();
    journal.finish_attempt(&claim.tasks[0], AttemptResult::Completed(out.clone())).await.unwrap().unwrap();
    // Another run asks for the same activity with the same key.
    append_task(&journal, "idem-2", task(2, 3, Some("order-42"))).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5)).await.unwrap();
    assert!(claim.tasks.is_empty(), "not executed again");
    assert_eq!(claim.settled.len(), 1);
    assert_eq!(claim.settled[0].result.as_ref().unwrap(), &out);
}

async fn hostile_ids_and_names_are_stored_verbatim_or_refused(journal: Arc<dyn Journal>) {
    for id in ["quote ' \" and ; DROP TABLE continuum_runs; --", "100% _like_ \\ escape", &"x".repeat(10_000)] {
        let lease = journal.create_run(new_run(id)).await.unwrap();
        assert_eq!(journal.find_workflow_id(id).await.unwrap().unwrap().id, lease.run);
        let name = format!("{id}-signal");
        let sent = journal.send_signal(lease.run, &name, Payload::unit()).await.unwrap();
        assert_eq!(journal.mailbox(lease.run).await.unwrap()[0].name, sent.name);
    }
    let nul = journal.create_run(new_run("nul\0id")).await;
    match nul {
        // PostgreSQL text cannot hold NUL: refused, typed, nothing written.
        Err(JournalError::InvalidInput { what, .. }) => assert_eq!(what, "workflow id"),
        // The in-memory journal can store it verbatim.
        Ok(lease) => assert_eq!(journal.run_info(lease.run).await.unwrap().workflow_id, "nul\0id"),
        Err(other) => panic!("{other:?}"),
    }
}

/// PostgreSQL only: an event row that no longer decodes fails its run with
/// a typed error naming the event; other runs are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_stored_event_fails_its_run_naming_the_seq_and_spares_others() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let pg = PostgresJournal::connect(db.url()).await.expect("connect").with_run_lease(Duration::from_millis(500));
    pg.migrate().await.expect("migrate");
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
