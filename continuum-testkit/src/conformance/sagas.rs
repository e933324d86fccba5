//! Sagas: compensations run most recent first across a crash, and in
//! parallel with one of them failing.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, Journal, Payload, RunOutcome};

use super::harness::{kinds, runtime, wait_for};

#[activity]
pub(crate) async fn hold(tag: String) -> Result<String, ActivityError> {
    Ok(tag)
}

#[activity(retry(max_attempts = 1))]
pub(crate) async fn refuse(tag: String) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable(format!("refused {tag}")))
}

/// Releases per tag; the first release of a tag hangs (its worker "dies"
/// with the runtime).
static RELEASES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[activity(retry(max_attempts = 3, initial = "10ms"))]
pub(crate) async fn release(tag: String) -> Result<(), ActivityError> {
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
pub(crate) async fn two_holds_then_refused(ctx: &WorkflowContext, tag: String) -> Result<(), WorkflowError> {
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

/// A saga's third step fails; its first compensation's worker dies with
/// its runtime mid-attempt. The next runtime rescues the compensation
/// (the lost attempt counts) and runs the second, most recent first.
pub async fn a_saga_compensates_most_recent_first_across_a_crash(journal: Arc<dyn Journal>) {
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

/// A parallel `compensate_all` schedules every compensation before any
/// ends; one that fails for good is journaled and the run still completes.
pub async fn a_parallel_saga_journals_a_failing_compensation_and_ends(journal: Arc<dyn Journal>) {
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
