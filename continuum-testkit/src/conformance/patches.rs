//! Patches: a patch marker journaled once and replayed after a crash.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Journal, Payload, RunOutcome};

use super::harness::{kinds, runtime, wait_for};

#[workflow]
pub(crate) async fn patched_then_timer(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let bonus = if ctx.patched("bonus") { 1 } else { 0 };
    ctx.sleep(millis(300)).await;
    Ok(n + bonus)
}

/// A run that took a patch crashes on its timer; the runtime that resumes
/// it replays the marker (the check answers `true` again, consuming it)
/// and finishes with the same history a run without a crash has.
pub async fn a_patch_marker_is_journaled_once_and_replayed_after_a_crash(journal: Arc<dyn Journal>) {
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
