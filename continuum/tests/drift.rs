//! Golden histories and replay drift: a recorded history replays cleanly
//! through a reformatted, commented copy of its workflow, and reordering
//! two activities is reported as a `ReplayDriftError` naming both sites.

use std::path::PathBuf;

use continuum::prelude::*;
use continuum::{CommandKind, Replayed, RunOutcome, Workflow};
use continuum_testkit::{TestEnv, golden};

#[activity]
async fn reserve(order: u32) -> Result<String, ActivityError> {
    Ok(format!("slot-{order}"))
}

#[activity]
async fn charge(order: u32) -> Result<u32, ActivityError> {
    Ok(order * 100)
}

mod v1 {
    use super::*;

    #[workflow(name = "ship")]
    pub async fn ship(ctx: &WorkflowContext, order: u32) -> Result<String, WorkflowError> {
        let slot = ctx.activity(reserve, order).await?;
        let cents = ctx.activity(charge, order).await?;
        ctx.sleep(hours(1)).await;
        Ok(format!("{slot} paid {cents}"))
    }
}

mod reformatted {
    use super::*;

    /// Same code as `v1::ship`, reformatted, commented and documented.
    #[workflow(name = "ship")]
    pub async fn ship(ctx: &WorkflowContext, order: u32) -> Result<String, WorkflowError> {
        // Reserve a slot first.
        let slot = ctx.activity(reserve, order).await?;
        /* then take the money */
        let cents = ctx.activity(charge, order).await?;

        ctx.sleep(hours(1)).await; // a grace period
        Ok(format!("{slot} paid {cents}"))
    }
}

mod reordered {
    use super::*;

    #[workflow(name = "ship")]
    pub async fn ship(ctx: &WorkflowContext, order: u32) -> Result<String, WorkflowError> {
        let cents = ctx.activity(charge, order).await?;
        let slot = ctx.activity(reserve, order).await?;
        ctx.sleep(hours(1)).await;
        Ok(format!("{slot} paid {cents}"))
    }
}

fn golden_path() -> PathBuf {
    // Relative to the package root, the tests' working directory (a path
    // baked in at compile time breaks when another clone reuses the binary).
    PathBuf::from("tests/golden/ship.jsonl")
}

/// Records v1's history; with `CONTINUUM_BLESS=1` rewrites the committed
/// golden file, otherwise checks the recording still matches it.
#[test]
fn golden_history_of_v1_is_pinned() {
    let mut env = TestEnv::builder().workflow(v1::ship).activity(reserve).activity(charge).paranoid(true).build();
    let run = env.start(v1::ship, 7);
    env.advance(hours(1));
    assert_eq!(env.result(&run).unwrap().unwrap(), "slot-7 paid 700");
    let recorded = env.golden(run.id());
    if std::env::var_os("CONTINUUM_BLESS").is_some() {
        std::fs::write(golden_path(), &recorded).unwrap();
    }
    let committed = std::fs::read_to_string(golden_path()).unwrap();
    assert_eq!(
        recorded, committed,
        "history format or v1 changed; re-bless with CONTINUUM_BLESS=1 and review the diff"
    );
}

#[test]
fn reformatted_copy_has_the_same_version_and_replays_the_golden_history() {
    assert_eq!(<reformatted::ship as Workflow>::VERSION, <v1::ship as Workflow>::VERSION);
    let replayed = golden::replay(reformatted::ship, golden_path()).unwrap();
    assert_eq!(
        replayed,
        Replayed::Ended(RunOutcome::Completed(continuum::Payload::encode(&"slot-7 paid 700").unwrap()))
    );
}

#[test]
fn reordering_two_activities_is_drift_naming_both_sites() {
    assert_ne!(<reordered::ship as Workflow>::VERSION, <v1::ship as Workflow>::VERSION);
    let err = golden::replay(reordered::ship, golden_path()).unwrap_err();
    let drift = err.drift().unwrap_or_else(|| panic!("expected drift, got {err}"));
    assert_eq!(drift.seq, 2);
    let expected = drift.expected.as_ref().unwrap();
    let found = drift.found.as_ref().unwrap();
    assert_eq!((expected.kind, expected.name.as_str()), (CommandKind::Activity, "reserve"));
    assert_eq!((found.kind, found.name.as_str()), (CommandKind::Activity, "charge"));
    assert_ne!(expected.site, found.site);
    let expected_loc = expected.location.as_deref().unwrap();
    let found_loc = found.location.as_deref().unwrap();
    assert!(expected_loc.contains("ctx.activity(reserve, …)") && expected_loc.contains("drift.rs:"), "{expected_loc}");
    assert!(found_loc.contains("ctx.activity(charge, …)") && found_loc.contains("drift.rs:"), "{found_loc}");
    let text = err.to_string();
    assert!(text.contains("history: activity `reserve`") && text.contains("code:    activity `charge`"), "{text}");
}

#[test]
fn golden_history_for_another_workflow_is_rejected() {
    #[workflow(name = "other")]
    async fn other(_ctx: &WorkflowContext, _n: u32) -> Result<(), WorkflowError> {
        Ok(())
    }
    let err = golden::replay(other, golden_path()).unwrap_err();
    assert!(matches!(err, golden::GoldenError::WrongWorkflow { .. }), "{err}");
}
