//! `ctx.patched`: new runs take the new branch and journal a marker;
//! histories recorded before the patch replay on the old branch without
//! consuming an event; the first answer for a patch id holds for the run.

use std::path::PathBuf;

use continuum::prelude::*;
use continuum::{Event, HistoryEvent, Payload, Replayed, RunOutcome};
use continuum_testkit::TestEnv;
use continuum_testkit::golden;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

fn golden_file(name: &str) -> PathBuf {
    // Relative to the package root, the tests' working directory (a path
    // baked in at compile time breaks when another clone reuses the binary).
    PathBuf::from("tests/golden").join(name)
}

#[activity]
async fn charge(n: u32) -> Result<u32, ActivityError> {
    Ok(n * 10)
}

#[activity]
async fn fraud_check(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 100)
}

#[activity]
async fn ship(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

/// `tests/golden/order_flow_before_patch.jsonl` was recorded by this
/// workflow before the fraud check was added (charge, then ship).
#[workflow]
async fn order_flow(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let charged = ctx.activity(charge, n).await?;
    let checked = if ctx.patched("fraud-check") { ctx.activity(fraud_check, charged).await? } else { charged };
    // Asked again: the first answer holds, and no second marker is written.
    let again = ctx.patched("fraud-check");
    let shipped = ctx.activity(ship, checked).await?;
    Ok(if again { shipped + 1000 } else { shipped })
}

#[test]
fn a_new_run_takes_the_patch_and_journals_one_marker() {
    let mut env = TestEnv::builder()
        .workflow(order_flow)
        .activity(charge)
        .activity(fraud_check)
        .activity(ship)
        .paranoid(true)
        .build();
    let run = env.start(order_flow, 4);
    assert_eq!(env.result(&run), Some(Ok(40 + 100 + 1 + 1000)));
    let history = env.history(run.id());
    assert_eq!(
        kinds(&history),
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "patch_marker",
            "activity_scheduled",
            "activity_completed",
            "activity_scheduled",
            "activity_completed",
            "run_completed"
        ]
    );
    assert!(matches!(&history[3].event, Event::PatchMarker { patch, .. } if patch == "fraud-check"));
}

#[test]
fn a_history_recorded_before_the_patch_replays_cleanly_on_the_old_branch() {
    let replayed = golden::replay(order_flow, golden_file("order_flow_before_patch.jsonl")).expect("replays cleanly");
    // 41 = ship(charge(4)): no fraud check, and `again` was false too.
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&41u32).unwrap())));
}

#[test]
fn a_run_that_reaches_the_patch_after_the_deploy_takes_it() {
    // A run recorded up to the charge (before the check was reached),
    // replayed by the patched code: the check is reached past the
    // history's end, live, so the run takes the new branch — the marker
    // is seq 4 and the fraud check, not the shipment, is the command it
    // waits on (seq 5).
    let mut history = golden::read_history(golden_file("order_flow_before_patch.jsonl")).expect("reads");
    history.truncate(3);
    let replayed = golden::replay_events::<order_flow>(history).expect("replays");
    assert_eq!(replayed, Replayed::Waiting { open: vec![5] });
}

#[workflow]
async fn two_patches(ctx: &WorkflowContext, _input: ()) -> Result<(bool, bool), WorkflowError> {
    let a = ctx.patched("a");
    ctx.sleep(hours(1)).await;
    let b = ctx.patched("b");
    Ok((a, b))
}

#[test]
fn a_marker_for_one_patch_does_not_answer_another() {
    let mut env = TestEnv::builder().workflow(two_patches).paranoid(true).build();
    let run = env.start(two_patches, ());
    env.advance(hours(1));
    assert_eq!(env.result(&run), Some(Ok((true, true))));
    let history = env.history(run.id());
    let markers: Vec<&str> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::PatchMarker { patch, .. } => Some(patch.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(markers, ["a", "b"]);
    // Without "a"'s marker (a history from before patch "a"), "a" is
    // false and "b" still finds its own marker.
    let without_a: Vec<HistoryEvent> = history
        .into_iter()
        .filter(|e| !matches!(&e.event, Event::PatchMarker { patch, .. } if patch == "a"))
        .enumerate()
        .map(|(i, mut e)| {
            e.seq = i as u64 + 1;
            if let Event::TimerFired { started } = &mut e.event {
                *started = 2;
            }
            if let Event::RunCompleted { output } = &mut e.event {
                *output = Payload::encode(&(false, true)).unwrap();
            }
            e
        })
        .collect();
    let replayed = golden::replay_events::<two_patches>(without_a).expect("replays");
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&(false, true)).unwrap())));
}
