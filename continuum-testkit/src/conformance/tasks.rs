//! Activities and tasks: retries, a worker lost during the last attempt,
//! idempotency keys, tasks leased to their writer, claims filtered by
//! activity — driven through the runtime or straight through the
//! `Journal` trait.

use std::sync::Arc;
use std::time::Duration;

use continuum::journal::{AttemptResult, TaskLease};
use continuum::prelude::*;
use continuum::{ActivityErrorKind, Event, Journal, JournalError, Payload};

use super::harness::runtime;
use super::writes::{append, append_task, new_run, task};

/// Calls per tag: tests run in parallel, so each counts its own.
static FLAKY_CALLS: std::sync::Mutex<std::collections::BTreeMap<String, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

#[activity(retry(max_attempts = 3, initial = "10ms", max = "20ms"))]
pub(crate) async fn flaky(tag: String) -> Result<String, ActivityError> {
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
pub(crate) async fn uses_flaky(ctx: &WorkflowContext, tag: String) -> Result<String, WorkflowError> {
    Ok(ctx.activity(flaky, tag).await?)
}

/// An activity that fails twice with a retryable error and then succeeds
/// completes the run, and the history records three attempts.
pub async fn activity_failing_twice_then_succeeding_completes_with_three_attempts(journal: Arc<dyn Journal>) {
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

/// A worker that dies holding the last allowed attempt consumes it: once
/// its lease lapses the task is settled as failed, never silently re-run,
/// and the dead worker's late report is fenced out.
pub async fn a_crash_during_the_last_attempt_fails_the_task_without_rerunning_it(journal: Arc<dyn Journal>) {
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

/// A task whose idempotency key already has a stored result is settled
/// with that result at claim time, not run again.
pub async fn an_idempotency_key_reuses_the_stored_result(journal: Arc<dyn Journal>) {
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

/// A task inserted leased to its writer is run by the writer without a
/// claim; nobody else claims it while the lease is renewed. Once the
/// writer stops renewing (it died), the next claim takes it and the lost
/// attempt counts.
pub async fn a_task_leased_to_its_writer_is_claimed_only_once_the_lease_lapses(journal: Arc<dyn Journal>) {
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

/// A claim that names activities takes only tasks of those activities.
pub async fn a_claim_takes_only_the_activities_asked_for(journal: Arc<dyn Journal>) {
    append_task(&journal, "filtered", task(2, 3, None)).await;
    let other = vec!["refund".to_string()];
    let claim = journal.claim_tasks(10, Duration::from_secs(5), Some(&other)).await.unwrap();
    assert!(claim.tasks.is_empty(), "a worker without `charge` does not take it");
    let mine = vec!["charge".to_string()];
    let claim = journal.claim_tasks(10, Duration::from_secs(5), Some(&mine)).await.unwrap();
    assert_eq!(claim.tasks.len(), 1);
}

/// Two tasks with one idempotency key that both ran (neither result was
/// stored when they were claimed) settle with the same result: the first
/// one stored. The key's stored result never changes after.
pub async fn tasks_sharing_a_key_settle_with_the_first_result_stored(journal: Arc<dyn Journal>) {
    append_task(&journal, "same-key-1", task(2, 3, Some("shared"))).await;
    append_task(&journal, "same-key-2", task(2, 3, Some("shared"))).await;
    let claim = journal.claim_tasks(10, Duration::from_secs(5), None).await.unwrap();
    assert_eq!(claim.tasks.len(), 2, "both run: nothing was stored yet");
    let first = Payload::encode(&"first").unwrap();
    let second = Payload::encode(&"second").unwrap();
    let a = journal.finish_attempt(&claim.tasks[0], AttemptResult::Completed(first.clone())).await.unwrap();
    let b = journal.finish_attempt(&claim.tasks[1], AttemptResult::Completed(second.clone())).await.unwrap();
    assert_eq!(a.unwrap().result.unwrap(), first);
    assert_eq!(b.unwrap().result.unwrap(), first, "the second settles with the first result stored");
    let stored =
        continuum::journal::StoredResult { activity: "charge".into(), key: "k".into(), output: second.clone() };
    assert_eq!(journal.store_result(stored.clone()).await.unwrap(), second);
    let later = continuum::journal::StoredResult { output: first.clone(), ..stored };
    assert_eq!(journal.store_result(later).await.unwrap(), second, "the first stored stays");
}

/// Each call returns a new value, after a pause long enough for every
/// concurrent call with the same key to be running.
#[activity]
pub(crate) async fn stamp(tag: String) -> Result<String, ActivityError> {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(format!("{tag}-{}", CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
}

#[workflow]
pub(crate) async fn stamps_once(ctx: &WorkflowContext, tag: String) -> Result<String, WorkflowError> {
    Ok(ctx.activity(stamp, tag.clone()).idempotency_key(format!("stamp-{tag}")).await?)
}

/// Runs whose activity calls share an idempotency key all journal the same
/// output, even when their attempts ran at the same time and produced
/// different values.
pub async fn runs_sharing_an_idempotency_key_journal_one_result(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let tag = format!("t{}", continuum::RunId::new_random());
    let mut runs = Vec::new();
    for _ in 0..4 {
        runs.push(rt.start(stamps_once, tag.clone(), StartOptions::default()).await.unwrap());
    }
    let mut outputs = Vec::new();
    for run in &runs {
        outputs.push(run.result(Duration::from_secs(20)).await.unwrap());
    }
    assert!(outputs.iter().all(|o| *o == outputs[0]), "one result for the key: {outputs:?}");
}
