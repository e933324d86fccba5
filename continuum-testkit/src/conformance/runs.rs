//! Runs and crashes: a run resumed by replay after its process died, a
//! cancel during a timer, the fence that keeps a writer whose lease was
//! taken over out, hostile ids and names.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::RunAppend;
use continuum::prelude::*;
use continuum::{Journal, JournalError, Payload, RunOutcome, RunStatus};

use super::harness::{kinds, runtime, wait_for};
use super::writes::{new_run, scheduled, task};

/// Adds one (three attempts, 10 ms apart); the suite's everyday activity.
#[activity(retry(max_attempts = 3, initial = "10ms"))]
pub async fn add_one(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

#[workflow]
pub(crate) async fn activity_timer_activity(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let n = ctx.activity(add_one, n).await?;
    ctx.sleep(millis(600)).await;
    let n = ctx.activity(add_one, n).await?;
    Ok(n)
}

#[workflow]
pub(crate) async fn long_timer(ctx: &WorkflowContext, _input: ()) -> Result<(), WorkflowError> {
    ctx.sleep(hours(1)).await;
    Ok(())
}

/// A run whose process dies during a timer is resumed by replay in the next
/// runtime and finishes with the history a run without a crash has.
pub async fn crash_resume_replays_and_finishes_with_the_exact_history(journal: Arc<dyn Journal>) {
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

/// A cancel while the run waits on a timer ends it cancelled, and nothing
/// is journaled after the end.
pub async fn cancel_during_a_timer_ends_the_run_cancelled_with_nothing_after(journal: Arc<dyn Journal>) {
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

/// An append with a lease taken over since is refused as fenced and changes
/// nothing; the new holder's append goes through.
pub async fn a_fenced_writer_cannot_append(journal: Arc<dyn Journal>) {
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

/// Ids and names full of quotes, wildcards and length are stored and found
/// verbatim; a NUL is refused (PostgreSQL) or stored verbatim (in memory).
pub async fn hostile_ids_and_names_are_stored_verbatim_or_refused(journal: Arc<dyn Journal>) {
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

/// Many concurrent starts of one workflow id: one run is created, and each
/// refusal names that run — never a start that was itself refused.
pub async fn concurrent_starts_of_one_id_create_one_run_and_refusals_name_it(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    for round in 0..5 {
        let id = format!("contested-{round}-{}", continuum::RunId::new_random());
        let mut starts = Vec::new();
        for _ in 0..10 {
            let (rt, id) = (rt.clone(), id.clone());
            starts.push(tokio::spawn(async move { rt.start(long_timer, (), StartOptions::id(id)).await }));
        }
        let mut holders = Vec::new();
        let mut named = Vec::new();
        for start in starts {
            match start.await.unwrap() {
                Ok(run) => holders.push(run.id()),
                Err(continuum::StartError::DuplicateWorkflowId { existing, .. }) => named.push(existing),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(holders.len(), 1, "one run holds {id}");
        assert!(named.iter().all(|r| *r == holders[0]), "refusals name the holder: {named:?} vs {holders:?}");
        assert_eq!(journal.find_workflow_id(&id).await.unwrap().map(|r| r.id), Some(holders[0]));
    }
}
