//! One behaviour suite, two journals: every test here runs against the
//! in-memory journal and against PostgreSQL (a fresh database per test,
//! from `continuum_testkit::postgres`), through the same runtime.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::{AttemptResult, CreateRun, Lease, NewActivityTask, NewRun, RunAppend, RunWrite, TaskLease};
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
    a_group_commit_checks_each_write_on_its_own,
    a_task_leased_to_its_writer_is_claimed_only_once_the_lease_lapses,
    a_claim_takes_only_the_activities_asked_for,
    an_ended_run_drops_its_tasks_even_in_a_batch_with_running_ones,
    a_patch_marker_is_journaled_once_and_replayed_after_a_crash,
    a_saga_compensates_most_recent_first_across_a_crash,
    a_child_finishes_once_when_its_parent_crashes,
    cancelling_a_parent_cancels_its_three_level_tree,
    a_signal_to_a_chain_root_reaches_the_tip_and_await_on_the_root_gets_the_end,
    a_child_beyond_the_depth_limit_fails_the_run_that_would_start_it,
    a_parallel_saga_journals_a_failing_compensation_and_ends,
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

#[workflow]
async fn patched_then_timer(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let bonus = if ctx.patched("bonus") { 1 } else { 0 };
    ctx.sleep(millis(300)).await;
    Ok(n + bonus)
}

#[activity]
async fn hold(tag: String) -> Result<String, ActivityError> {
    Ok(tag)
}

#[activity(retry(max_attempts = 1))]
async fn refuse(tag: String) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable(format!("refused {tag}")))
}

/// Releases per tag; the first release of a tag hangs (its worker "dies"
/// with the runtime).
static RELEASES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[activity(retry(max_attempts = 3, initial = "10ms"))]
async fn release(tag: String) -> Result<(), ActivityError> {
    let first = {
        let mut r = RELEASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        r.push(tag.clone());
        r.iter().filter(|t| t.starts_with(tag.split(':').next().unwrap_or_default())).count() == 1
    };
    if first {
        std::future::pending::<()>().await;
    }
    Ok(())
}

#[workflow]
async fn two_holds_then_refused(ctx: &WorkflowContext, tag: String) -> Result<(), WorkflowError> {
    let steps = async {
        ctx.activity(hold, format!("{tag}:a")).compensate_with(release).await?;
        ctx.activity(hold, format!("{tag}:b")).compensate_with(release).await?;
        ctx.activity(refuse, tag.clone()).await?;
        Ok::<_, WorkflowError>(())
    };
    if let Err(e) = steps.await {
        let report = ctx.compensate_all().await;
        return Err(WorkflowError::msg(format!("{e}; undone {:?}", report.completed)));
    }
    Ok(())
}

/// A child that works, waits on a timer, works again.
#[workflow]
async fn slow_child(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(add_one, n).await?;
    ctx.sleep(millis(600)).await;
    Ok(ctx.activity(add_one, n).await?)
}

#[workflow]
async fn waits_for_slow_child(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.child(slow_child, n).await? * 10)
}

/// Nested children down to `depth`, the innermost parked on a long timer.
#[workflow]
async fn tree(ctx: &WorkflowContext, depth: u32) -> Result<u32, WorkflowError> {
    if depth == 0 {
        ctx.sleep(hours(1)).await;
        return Ok(0);
    }
    Ok(ctx.child(tree, depth - 1).await? + 1)
}

#[workflow]
async fn billing(ctx: &WorkflowContext, state: (u32, u32)) -> Result<u32, WorkflowError> {
    let (cycle, total) = state;
    let charge: u32 = ctx.signal("charge").await?;
    if cycle < 3 {
        return ctx.continue_as_new((cycle + 1, total + charge)).await;
    }
    Ok(total + charge)
}

async fn runtime(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(billing)
        .workflow(slow_child)
        .workflow(waits_for_slow_child)
        .workflow(tree)
        .workflow(two_holds_then_refused)
        .activity(hold)
        .activity(refuse)
        .activity(release)
        .workflow(patched_then_timer)
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
        resolved_children: vec![],
        child_report: None,
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
        resolved_children: vec![],
        child_report: None,
    };
    journal.append(append).await.unwrap();
    lease.run
}

async fn a_crash_during_the_last_attempt_fails_the_task_without_rerunning_it(journal: Arc<dyn Journal>) {
    let run = append_task(&journal, "lost-attempt", task(2, 1, None)).await;
    let claim = journal.claim_tasks(10, Duration::from_millis(200), None).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
    // The worker dies holding attempt 1 of 1. Once its lease lapses, the
    // next claim settles the task as failed instead of running it again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
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
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
    let out = Payload::encode(&"charged once").unwrap();
    journal.finish_attempt(&claim.tasks[0], AttemptResult::Completed(out.clone())).await.unwrap().unwrap();
    // Another run asks for the same activity with the same key.
    append_task(&journal, "idem-2", task(2, 3, Some("order-42"))).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
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

/// A run that took a patch crashes on its timer; the runtime that resumes
/// it replays the marker (the check answers `true` again, consuming it)
/// and finishes with the same history a run without a crash has.
async fn a_patch_marker_is_journaled_once_and_replayed_after_a_crash(journal: Arc<dyn Journal>) {
    let first = runtime(journal.clone()).await;
    let run = first.start(patched_then_timer, 1, StartOptions::id("patched")).await.unwrap().id();
    wait_for(&journal, run, "timer_started").await;
    drop(first);
    let second = runtime(journal.clone()).await;
    assert_eq!(
        second.await_outcome(run, Duration::from_secs(10)).await.unwrap(),
        RunOutcome::Completed(Payload::encode(&2u32).unwrap())
    );
    assert_eq!(
        kinds(&journal.history(run).await.unwrap()),
        ["run_started", "patch_marker", "timer_started", "timer_fired", "run_completed"]
    );
    assert_eq!(second.stats().await.unwrap().runs_replayed, 1, "resumed by replay");
}

/// A saga's third step fails; its first compensation's worker dies with
/// its runtime mid-attempt. The next runtime rescues the compensation
/// (the lost attempt counts) and runs the second, most recent first.
async fn a_saga_compensates_most_recent_first_across_a_crash(journal: Arc<dyn Journal>) {
    let tag = format!("saga-{}", continuum::RunId::new_random());
    let first = runtime(journal.clone()).await;
    let run = first.start(two_holds_then_refused, tag.clone(), StartOptions::id(tag.clone())).await.unwrap().id();
    wait_for(&journal, run, "compensation_scheduled").await;
    // The first release attempt is running (and hanging) in this runtime.
    while !RELEASES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|t| t.starts_with(&tag)) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(first);
    let second = runtime(journal.clone()).await;
    let outcome = second.await_outcome(run, Duration::from_secs(20)).await.unwrap();
    let RunOutcome::Failed(failure) = outcome else { panic!("{outcome:?}") };
    assert!(failure.to_string().contains(r#"undone ["release", "release"]"#), "{failure}");
    let history = journal.history(run).await.unwrap();
    assert_eq!(
        kinds(&history)[7..],
        [
            "compensation_scheduled",
            "compensation_completed",
            "compensation_scheduled",
            "compensation_completed",
            "run_failed"
        ]
    );
    let undone: Vec<(u64, Payload, u32)> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::CompensationScheduled { compensates, input, .. } => Some((*compensates, input.clone(), 0)),
            Event::CompensationCompleted { attempts, .. } => Some((0, Payload::unit(), *attempts)),
            _ => None,
        })
        .collect();
    assert_eq!(undone[0].0, 4, "the second hold (seq 4) is undone first");
    assert_eq!(undone[0].1, Payload::encode(&format!("{tag}:b")).unwrap());
    assert_eq!(undone[1].2, 2, "the attempt lost with the first runtime counts");
    assert_eq!(undone[2].0, 2);
    assert_eq!(undone[3].2, 1);
}

/// The runtime running a parent and its child dies while the child waits
/// on its timer; the next runtime finishes both, and the parent journals
/// the child's start and end once each.
async fn a_child_finishes_once_when_its_parent_crashes(journal: Arc<dyn Journal>) {
    let first = runtime(journal.clone()).await;
    let run = first
        .start(waits_for_slow_child, 1, StartOptions::id(format!("parent-{}", continuum::RunId::new_random())))
        .await
        .unwrap()
        .id();
    wait_for(&journal, run, "child_started").await;
    let child = journal
        .history(run)
        .await
        .unwrap()
        .iter()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .expect("a child");
    wait_for(&journal, child, "timer_started").await;
    drop(first);
    let second = runtime(journal.clone()).await;
    let outcome = second.await_outcome(run, Duration::from_secs(20)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&30u32).unwrap()));
    assert_eq!(
        kinds(&journal.history(run).await.unwrap()),
        ["run_started", "child_started", "child_completed", "run_completed"]
    );
    assert_eq!(
        kinds(&journal.history(child).await.unwrap()),
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "timer_started",
            "timer_fired",
            "activity_scheduled",
            "activity_completed",
            "run_completed"
        ]
    );
}

async fn cancelling_a_parent_cancels_its_three_level_tree(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let root =
        rt.start(tree, 3, StartOptions::id(format!("tree-{}", continuum::RunId::new_random()))).await.unwrap().id();
    // Wait for the whole tree: each level starts the next.
    let mut levels = vec![root];
    while levels.len() < 4 {
        let last = *levels.last().unwrap();
        wait_for(&journal, last, "child_started").await;
        let child = journal.history(last).await.unwrap().iter().find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        });
        levels.push(child.expect("the next level"));
    }
    wait_for(&journal, levels[3], "timer_started").await;
    rt.cancel(root, Some("shutting down".into())).await.unwrap();
    for (depth, id) in levels.iter().enumerate() {
        assert_eq!(journal.run_info(*id).await.unwrap().status, RunStatus::Cancelled, "depth {depth}");
        assert_eq!(kinds(&journal.history(*id).await.unwrap()).last(), Some(&"run_cancelled"), "depth {depth}");
    }
}

/// Two continuations in, the process dies; a signal sent to the chain's
/// root from the next runtime reaches the live tip, and awaiting the root
/// returns the chain's final result.
async fn a_signal_to_a_chain_root_reaches_the_tip_and_await_on_the_root_gets_the_end(journal: Arc<dyn Journal>) {
    let workflow_id = format!("billing-{}", continuum::RunId::new_random());
    let first = runtime(journal.clone()).await;
    let root = first.start(billing, (1, 0), StartOptions::id(workflow_id.clone())).await.unwrap().id();
    first.signal(root, "charge", &10u32).await.unwrap();
    first.signal(root, "charge", &20u32).await.unwrap();
    let mut tip = root;
    for _ in 0..500 {
        tip = journal.chain_tip(root).await.unwrap();
        if tip != root && journal.run_info(tip).await.unwrap().last_seq >= 2 {
            let run = journal.history(tip).await.unwrap();
            if matches!(&run[0].event, Event::RunStarted { input, .. } if input.decode::<(u32, u32)>().unwrap() == (3, 30))
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_ne!(tip, root);
    drop(first);
    let second = runtime(journal.clone()).await;
    second.signal(root, "charge", &30u32).await.unwrap();
    let outcome = second.await_outcome(root, Duration::from_secs(20)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&60u32).unwrap()));
    assert_eq!(journal.run_info(root).await.unwrap().status, RunStatus::Continued);
    let last = journal.run_info(tip).await.unwrap();
    assert_eq!((last.status, last.workflow_id.as_str()), (RunStatus::Completed, workflow_id.as_str()));
    assert_eq!(
        journal.find_workflow_id(&workflow_id).await.unwrap().map(|r| r.id),
        Some(root),
        "the id names the root"
    );
    assert_eq!(
        kinds(&journal.history(tip).await.unwrap()),
        ["run_started", "signal_awaited", "signal_received", "run_completed"]
    );
}

async fn a_child_beyond_the_depth_limit_fails_the_run_that_would_start_it(journal: Arc<dyn Journal>) {
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(tree)
        .engine_config(EngineConfig {
            max_child_depth: 2,
            lease_renewal: Duration::from_millis(100),
            ..EngineConfig::default()
        })
        .start()
        .await
        .unwrap();
    let root =
        rt.start(tree, 3, StartOptions::id(format!("deep-{}", continuum::RunId::new_random()))).await.unwrap().id();
    // Root (depth 0) starts depth 1, which starts depth 2; depth 2 may not
    // start depth 3: it fails, and the failure climbs back as values.
    let outcome = rt.await_outcome(root, Duration::from_secs(10)).await.unwrap();
    let RunOutcome::Failed(failure) = outcome else { panic!("{outcome:?}") };
    assert!(failure.to_string().contains("exceeds the maximum depth 2"), "{failure}");
    let mut level = root;
    for depth in 1..=2 {
        level = journal
            .history(level)
            .await
            .unwrap()
            .iter()
            .find_map(|e| match e.event {
                Event::ChildStarted { child, .. } => Some(child),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no child at depth {depth}"));
    }
    let deepest = journal.history(level).await.unwrap();
    assert_eq!(kinds(&deepest), ["run_started", "run_failed"], "no child was started past the limit");
    assert!(
        matches!(
            &deepest[1].event,
            Event::RunFailed { failure: continuum::RunFailure::ChildDepth { depth: 3, max: 2 } }
        ),
        "{:?}",
        deepest[1]
    );
}

#[activity(retry(max_attempts = 2, initial = "5ms"))]
async fn release_refused(tag: String) -> Result<(), ActivityError> {
    Err(ActivityError::retryable(format!("cannot release {tag}")))
}

#[workflow]
async fn parallel_undo(ctx: &WorkflowContext, tag: String) -> Result<(Vec<String>, usize), WorkflowError> {
    ctx.activity(hold, format!("{tag}:a")).compensate_with(release_refused).await?;
    ctx.activity(hold, format!("{tag}:b")).compensate_with(add_one_to_len).await?;
    let report = ctx.compensate_all().parallel().await;
    Ok((report.completed, report.failed.len()))
}

#[activity]
async fn add_one_to_len(tag: String) -> Result<(), ActivityError> {
    let _ = tag.len() + 1;
    Ok(())
}

async fn a_parallel_saga_journals_a_failing_compensation_and_ends(journal: Arc<dyn Journal>) {
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(parallel_undo)
        .activity(hold)
        .activity(release_refused)
        .activity(add_one_to_len)
        .start()
        .await
        .unwrap();
    let run = rt
        .start(parallel_undo, "p".into(), StartOptions::id(format!("par-{}", continuum::RunId::new_random())))
        .await
        .unwrap();
    let (completed, failed) = run.result(Duration::from_secs(10)).await.unwrap();
    assert_eq!((completed, failed), (vec!["add_one_to_len".to_string()], 1));
    let history = journal.history(run.id()).await.unwrap();
    let k = kinds(&history);
    assert_eq!(k[5..7], ["compensation_scheduled", "compensation_scheduled"], "both scheduled before either ends");
    assert!(k.contains(&"compensation_failed") && k.contains(&"compensation_completed"), "{k:?}");
    assert_eq!(k.last(), Some(&"run_completed"), "the failed compensation did not end the run");
}

fn started(seq: u64) -> HistoryEvent {
    HistoryEvent {
        seq,
        at: chrono::Utc::now(),
        event: Event::RunStarted {
            workflow: "journal_only".into(),
            version: VersionHash([7; 32]),
            input: Payload::unit(),
            parent: None,
            continued_from: None,
        },
    }
}

fn create(workflow_id: &str) -> RunWrite {
    let run = continuum::RunId::new_random();
    RunWrite {
        create: Some(CreateRun { workflow_id: workflow_id.into() }),
        append: RunAppend::events(Lease { run, token: 0 }, vec![started(1)]),
    }
}

fn append(lease: Lease, seq: u64) -> RunWrite {
    let t = task(seq, 3, None);
    let mut append = RunAppend::events(lease, vec![scheduled(seq, &t)]);
    append.new_tasks.push(t);
    RunWrite { create: None, append }
}

/// One commit, many runs: a fenced write, a write that does not continue
/// its history, a taken workflow id (also taken twice within the batch)
/// are each refused with their own error; the other writes are applied.
async fn a_group_commit_checks_each_write_on_its_own(journal: Arc<dyn Journal>) {
    let ok = journal.create_run(new_run("gc-ok")).await.unwrap();
    let stale = journal.create_run(new_run("gc-stale")).await.unwrap();
    let fresh = journal.acquire_run(stale.run).await.unwrap();
    let gap = journal.create_run(new_run("gc-gap")).await.unwrap();
    let twice = create("gc-twice");
    let first_of_twice = twice.append.lease.run;
    let writes = vec![
        append(ok.clone(), 2),
        append(stale.clone(), 2),
        append(gap.clone(), 5),
        create("gc-new"),
        create("gc-ok"),
        twice,
        create("gc-twice"),
    ];
    let new_run_id = writes[3].append.lease.run;
    let results = journal.commit(writes).await.expect("the commit as a whole succeeds");
    assert_eq!(results.len(), 7);
    let written = results[0].as_ref().expect("the healthy append");
    assert_eq!(written.lease, ok);
    assert!(written.leased_tasks.is_empty(), "no lease asked for");
    assert!(
        matches!(&results[1], Err(JournalError::Fenced { presented, current, .. }) if *presented == stale.token && *current == fresh.token),
        "{:?}",
        results[1]
    );
    assert!(matches!(&results[2], Err(JournalError::SeqConflict { expected: 5, actual: 2, .. })), "{:?}", results[2]);
    let created = results[3].as_ref().expect("the new run");
    assert!(created.lease.token > fresh.token, "a new run gets a fresh token");
    assert!(
        matches!(&results[4], Err(JournalError::DuplicateWorkflowId { existing, .. }) if *existing == ok.run),
        "{:?}",
        results[4]
    );
    assert!(results[5].is_ok(), "{:?}", results[5]);
    assert!(
        matches!(&results[6], Err(JournalError::DuplicateWorkflowId { existing, .. }) if *existing == first_of_twice),
        "{:?}",
        results[6]
    );

    assert_eq!(journal.history(ok.run).await.unwrap().len(), 2);
    assert_eq!(journal.history(stale.run).await.unwrap().len(), 1, "the fenced write changed nothing");
    assert_eq!(journal.history(gap.run).await.unwrap().len(), 1, "the conflicting write changed nothing");
    assert_eq!(journal.history(new_run_id).await.unwrap().len(), 1);
    assert_eq!(journal.find_workflow_id("gc-new").await.unwrap().unwrap().id, new_run_id);
    assert_eq!(journal.find_workflow_id("gc-twice").await.unwrap().unwrap().id, first_of_twice);
    // Only the applied append's task exists.
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(claim.tasks.iter().map(|t| t.run).collect::<Vec<_>>(), vec![ok.run]);
}

/// A task inserted leased to its writer is run by the writer without a
/// claim; nobody else claims it while the lease is renewed. Once the
/// writer stops renewing (it died), the next claim takes it and the lost
/// attempt counts.
async fn a_task_leased_to_its_writer_is_claimed_only_once_the_lease_lapses(journal: Arc<dyn Journal>) {
    let lease = journal.create_run(new_run("leased-task")).await.unwrap();
    let mut write = append(lease.clone(), 2);
    write.append.new_tasks[0].lease_to_writer = Some(Duration::from_millis(300));
    let written = journal.commit(vec![write]).await.unwrap().pop().unwrap().unwrap();
    let [(seq, token)] = written.leased_tasks[..] else { panic!("one leased task: {:?}", written.leased_tasks) };
    assert_eq!(seq, 2);
    let held = TaskLease { run: lease.run, seq, token };
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(journal.heartbeat_tasks(&[held], Duration::from_millis(300)).await.unwrap().is_empty(), "renewed");
        let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
        assert!(claim.tasks.is_empty() && claim.settled.is_empty(), "not claimable while renewed");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
    assert_eq!(claim.tasks[0].attempt, 2, "the writer's attempt counts");
    assert!(claim.tasks[0].token > token);
    let lost = journal.heartbeat_tasks(&[held], Duration::from_secs(5)).await.unwrap();
    assert_eq!(lost, vec![held], "the old holder learns its lease is gone");
}

/// A run that ends in a commit shared with runs that go on loses its
/// outstanding tasks: none is claimed again once its lease lapses.
async fn an_ended_run_drops_its_tasks_even_in_a_batch_with_running_ones(journal: Arc<dyn Journal>) {
    let ending = journal.create_run(new_run("ends-in-batch")).await.unwrap();
    let going_on = journal.create_run(new_run("goes-on-in-batch")).await.unwrap();
    let mut write = append(ending.clone(), 2);
    write.append.new_tasks[0].lease_to_writer = Some(Duration::from_millis(200));
    journal.commit(vec![write]).await.unwrap().pop().unwrap().unwrap();
    let end = HistoryEvent { seq: 3, at: chrono::Utc::now(), event: Event::RunCompleted { output: Payload::unit() } };
    let results = journal
        .commit(vec![
            RunWrite { create: None, append: RunAppend::events(ending.clone(), vec![end]) },
            append(going_on.clone(), 2),
        ])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert!(claim.settled.is_empty(), "{:?}", claim.settled);
    assert_eq!(claim.tasks.iter().map(|t| t.run).collect::<Vec<_>>(), vec![going_on.run], "only the live run's task");
}

async fn a_claim_takes_only_the_activities_asked_for(journal: Arc<dyn Journal>) {
    append_task(&journal, "filtered", task(2, 3, None)).await;
    let other = vec!["refund".to_string()];
    let claim = journal.claim_tasks(10, Duration::from_secs(5), Some(&other)).await.unwrap();
    assert!(claim.tasks.is_empty(), "a worker without `charge` does not take it");
    let mine = vec!["charge".to_string()];
    let claim = journal.claim_tasks(10, Duration::from_secs(5), Some(&mine)).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
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
    let pg = PostgresJournal::connect(db.url()).await.expect("connect");
    pg.migrate().await.expect("migrate");
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
        let pg = PostgresJournal::connect(db.url()).await.expect("connect");
        pg.migrate().await.expect("migrate");
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
