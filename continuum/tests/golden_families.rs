//! One committed golden history per family of events — signals, children,
//! sagas, patches, recorded values, a failed end, a cancelled end,
//! continue-as-new — so a change to the stored format cannot pass
//! unnoticed. Each test records a fresh history and compares it with the
//! committed file (ids, which are random per run, compared by position),
//! then replays the committed file through today's code and expects the
//! end it records.
//!
//! Re-bless with `CONTINUUM_BLESS=1 cargo test -p continuum --test
//! golden_families` and review the diff. The files are found relative to
//! the package root (the tests' working directory), never through a path
//! baked in at compile time: a test binary built in one clone and reused by
//! another must still find them.

use std::collections::HashMap;
use std::path::PathBuf;

use continuum::prelude::*;
use continuum::workflow::WorkflowRef;
use continuum::{Event, Payload, Replayed, RunId, RunOutcome, Workflow};
use continuum_testkit::TestEnv;
use continuum_testkit::golden;

fn golden_file(name: &str) -> PathBuf {
    PathBuf::from("tests/golden").join(name)
}

/// Each UUID replaced by its position of first appearance, so two
/// recordings that differ only in their random ids compare equal.
fn ids_by_position(text: &str) -> String {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..=start]);
        rest = &rest[start + 1..];
        let end = rest.find('"').unwrap_or(rest.len());
        let token = &rest[..end];
        if uuid::Uuid::parse_str(token).is_ok() && token.len() == 36 {
            let n = seen.len();
            let n = *seen.entry(token.to_owned()).or_insert(n);
            out.push_str(&format!("<id-{n}>"));
        } else {
            out.push_str(token);
        }
        rest = &rest[end..];
        if let Some(quote) = rest.strip_prefix('"') {
            out.push('"');
            rest = quote;
        }
    }
    out.push_str(rest);
    out
}

/// Compares (or, blessing, writes) the recorded history of `run` with the
/// committed `name`, then replays the committed file through `W`.
fn pinned<W: Workflow>(env: &TestEnv, run: RunId, name: &str, workflow: impl WorkflowRef<W>) -> Replayed {
    let recorded = env.golden(run);
    let path = golden_file(name);
    if std::env::var_os("CONTINUUM_BLESS").is_some() {
        std::fs::write(&path, &recorded).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (bless with CONTINUUM_BLESS=1)", path.display()));
    assert_eq!(
        ids_by_position(&recorded),
        ids_by_position(&committed),
        "{name}: the stored format or the workflow changed; re-bless with CONTINUUM_BLESS=1 and review the diff"
    );
    golden::replay(workflow, &path).unwrap_or_else(|e| panic!("{name} no longer replays: {e}"))
}

fn kinds_in(name: &str) -> Vec<String> {
    golden::read_history(golden_file(name)).unwrap().iter().map(|e| e.event.type_name().to_owned()).collect()
}

#[workflow]
async fn signals_family(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let early: String = ctx.signal("early").await?;
    let missed = ctx.signal::<String>("never").timeout(minutes(5)).await;
    let late: String = ctx.signal("late").timeout(hours(1)).await?;
    Ok(format!("{early} {} {late}", missed.is_err()))
}

#[test]
fn signal_events_are_pinned() {
    let mut env = TestEnv::builder().workflow(signals_family).paranoid(true).build();
    let run = env.start(signals_family, ());
    env.inject_signal(run.id(), "early", &"e").unwrap();
    env.advance(minutes(5));
    env.inject_signal(run.id(), "late", &"l").unwrap();
    assert_eq!(env.result(&run).unwrap().unwrap(), "e true l");
    let replayed = pinned(&env, run.id(), "signals.jsonl", signals_family);
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&"e true l").unwrap())));
    let kinds = kinds_in("signals.jsonl");
    for kind in ["signal_awaited", "signal_received", "signal_timed_out"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} is pinned");
    }
}

#[activity]
async fn halve(n: u32) -> Result<u32, ActivityError> {
    Ok(n / 2)
}

#[workflow]
async fn child_ok(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(halve, n).await?)
}

#[workflow]
async fn child_fails(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Err(WorkflowError::msg(format!("no {n}")))
}

#[workflow]
async fn child_waits(ctx: &WorkflowContext, _n: u32) -> Result<u32, WorkflowError> {
    ctx.sleep(hours(1)).await;
    Ok(0)
}

#[workflow]
async fn children_family(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let ok = ctx.child(child_ok, n).await?;
    let failed = ctx.child(child_fails, n).await.is_err();
    let cancelled = ctx.child(child_waits, n).await.is_err();
    Ok(format!("{ok} {failed} {cancelled}"))
}

#[test]
fn child_events_are_pinned() {
    let mut env = TestEnv::builder()
        .workflow(children_family)
        .workflow(child_ok)
        .workflow(child_fails)
        .workflow(child_waits)
        .activity(halve)
        .paranoid(true)
        .build();
    let run = env.start(children_family, 8);
    let waiting = env
        .history(run.id())
        .iter()
        .rev()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .unwrap();
    env.cancel(waiting).unwrap();
    assert_eq!(env.result(&run).unwrap().unwrap(), "4 true true");
    let replayed = pinned(&env, run.id(), "children.jsonl", children_family);
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&"4 true true").unwrap())));
    let kinds = kinds_in("children.jsonl");
    for kind in ["child_started", "child_completed", "child_failed", "child_cancelled"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} is pinned");
    }
}

#[activity]
async fn reserve_seat(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[activity]
async fn release_seat(_n: u32) -> Result<(), ActivityError> {
    Ok(())
}

#[activity(retry(max_attempts = 1))]
async fn refund_fails(_n: u32) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable("the bank is closed"))
}

#[activity(retry(max_attempts = 1))]
async fn pay(_n: u32) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable("card declined"))
}

#[workflow]
async fn saga_family(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    ctx.activity(reserve_seat, n).compensate_with(release_seat).await?;
    ctx.activity(reserve_seat, n + 1).compensate_with(refund_fails).await?;
    if ctx.activity(pay, n).await.is_err() {
        let report = ctx.compensate_all().await;
        return Ok(format!("undone {} failed {}", report.completed.len(), report.failed.len()));
    }
    Ok("paid".into())
}

#[test]
fn compensation_events_are_pinned() {
    let mut env = TestEnv::builder()
        .workflow(saga_family)
        .activity(reserve_seat)
        .activity(release_seat)
        .activity(refund_fails)
        .activity(pay)
        .paranoid(true)
        .build();
    let run = env.start(saga_family, 1);
    assert_eq!(env.result(&run).unwrap().unwrap(), "undone 1 failed 1");
    let replayed = pinned(&env, run.id(), "sagas.jsonl", saga_family);
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&"undone 1 failed 1").unwrap())));
    let kinds = kinds_in("sagas.jsonl");
    for kind in ["activity_failed", "compensation_scheduled", "compensation_completed", "compensation_failed"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} is pinned");
    }
}

#[workflow]
async fn patch_family(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if ctx.patched("double") { Ok(n * 2) } else { Ok(n) }
}

#[test]
fn patch_markers_are_pinned() {
    let mut env = TestEnv::builder().workflow(patch_family).paranoid(true).build();
    let run = env.start(patch_family, 21);
    assert_eq!(env.result(&run).unwrap().unwrap(), 42);
    let replayed = pinned(&env, run.id(), "patches.jsonl", patch_family);
    assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(Payload::encode(&42u32).unwrap())));
    assert!(kinds_in("patches.jsonl").iter().any(|k| k == "patch_marker"));
}

#[workflow]
async fn values_family(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let now = ctx.now();
    let id = ctx.uuid4();
    let r = ctx.random();
    let n = ctx.random_u64();
    let s: String = ctx.side_effect(|| "from outside".to_string());
    Ok(format!("{now} {id} {r} {n} {s}"))
}

/// Recorded values differ on every recording (they are random), so the
/// fresh recording is compared by shape; the committed file must replay to
/// exactly the values it holds.
#[test]
fn recorded_values_are_pinned() {
    let mut env = TestEnv::builder().workflow(values_family).paranoid(true).build();
    let run = env.start(values_family, ());
    let fresh = env.result(&run).unwrap().unwrap();
    let path = golden_file("values.jsonl");
    let blessing = std::env::var_os("CONTINUUM_BLESS").is_some();
    if blessing {
        std::fs::write(&path, env.golden(run.id())).unwrap();
    }
    let recorded: Vec<&str> = env.history(run.id()).iter().map(|e| e.event.type_name()).collect();
    let committed = kinds_in("values.jsonl");
    assert_eq!(recorded, committed, "the events of recorded values changed");
    let history = golden::read_history(&path).unwrap();
    let output = match history.last().map(|e| &e.event) {
        Some(Event::RunCompleted { output }) => output.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(golden::replay(values_family, &path).unwrap(), Replayed::Ended(RunOutcome::Completed(output.clone())));
    if !blessing {
        assert_ne!(output.decode::<String>().unwrap(), fresh, "the committed file replays its own values");
    }
}

#[activity(retry(max_attempts = 2, initial = "1ms"))]
async fn always_fails(n: u32) -> Result<u32, ActivityError> {
    Err(ActivityError::retryable(format!("down {n}")))
}

#[workflow]
async fn failure_family(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(ctx.activity(always_fails, n).await?)
}

#[test]
fn a_failed_end_is_pinned() {
    let mut env = TestEnv::builder().workflow(failure_family).activity(always_fails).paranoid(true).build();
    let run = env.start(failure_family, 3);
    assert!(env.result(&run).unwrap().is_err());
    let replayed = pinned(&env, run.id(), "failure.jsonl", failure_family);
    assert!(matches!(replayed, Replayed::Ended(RunOutcome::Failed(_))), "{replayed:?}");
    assert_eq!(kinds_in("failure.jsonl"), ["run_started", "activity_scheduled", "activity_failed", "run_failed"]);
}

#[workflow]
async fn cancel_family(ctx: &WorkflowContext, _input: ()) -> Result<(), WorkflowError> {
    ctx.sleep(hours(1)).await;
    Ok(())
}

#[test]
fn a_cancelled_end_is_pinned() {
    let mut env = TestEnv::builder().workflow(cancel_family).paranoid(true).build();
    let run = env.start(cancel_family, ());
    env.cancel(run.id()).unwrap();
    let recorded = env.golden(run.id());
    let path = golden_file("cancel.jsonl");
    if std::env::var_os("CONTINUUM_BLESS").is_some() {
        std::fs::write(&path, &recorded).unwrap();
    }
    assert_eq!(ids_by_position(&recorded), ids_by_position(&std::fs::read_to_string(&path).unwrap()));
    // A cancelled history replays to its wait: the cancel came from outside.
    let replayed = golden::replay(cancel_family, &path).unwrap();
    assert!(matches!(replayed, Replayed::Waiting { .. } | Replayed::Ended(RunOutcome::Cancelled(_))), "{replayed:?}");
    assert_eq!(kinds_in("cancel.jsonl"), ["run_started", "timer_started", "run_cancelled"]);
}

#[workflow]
async fn continue_family(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if n < 2 {
        ctx.sleep(seconds(1)).await;
        return ctx.continue_as_new(n + 1).await;
    }
    Ok(n)
}

#[test]
fn continue_as_new_is_pinned() {
    let mut env = TestEnv::builder().workflow(continue_family).paranoid(true).build();
    let run = env.start(continue_family, 0);
    env.advance(seconds(1));
    env.advance(seconds(1));
    assert_eq!(env.result(&run).unwrap().unwrap(), 2);
    let replayed = pinned(&env, run.id(), "continue_as_new.jsonl", continue_family);
    assert!(matches!(replayed, Replayed::Continued { .. }), "{replayed:?}");
    assert_eq!(
        kinds_in("continue_as_new.jsonl"),
        ["run_started", "timer_started", "timer_fired", "run_continued_as_new"]
    );
}
