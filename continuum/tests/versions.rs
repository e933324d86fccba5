//! Versions: a run resumes on the version it started on when that version
//! is registered (old bodies kept compiled beside the current one); with
//! no process serving it, it replays on the current version — and if that
//! drifts, the run is suspended (left running, listed by the audit), not
//! failed.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, InMemoryJournal, Journal, Payload, RunOutcome, RunStatus, Workflow};

/// Version 1, as first deployed.
#[workflow(name = "versioned")]
async fn versioned_v1(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let go: u32 = ctx.signal("go").await?;
    Ok(format!("v1:{}", n + go))
}

/// Version 2: the same commands, another result.
#[workflow(name = "versioned")]
async fn versioned_v2(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    let go: u32 = ctx.signal("go").await?;
    Ok(format!("v2:{}", n + go))
}

/// Version 3: a timer first — version 1's histories do not fit it.
#[workflow(name = "versioned")]
async fn versioned_v3(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    ctx.sleep(seconds(1)).await;
    let go: u32 = ctx.signal("go").await?;
    Ok(format!("v3:{}", n + go))
}

async fn runtime(journal: &Arc<InMemoryJournal>, build: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder) -> Runtime {
    build(Runtime::builder().journal(journal.clone() as Arc<dyn Journal>)).start().await.expect("runtime starts")
}

use continuum::RuntimeBuilder;

async fn started_on_v1(journal: &Arc<InMemoryJournal>) -> RunId {
    let old = runtime(journal, |b| b.workflow(versioned_v1)).await;
    let run = old.start(versioned_v1, 40, StartOptions::default()).await.unwrap().id();
    for _ in 0..200 {
        if journal.history(run).await.unwrap().iter().any(|e| matches!(e.event, Event::SignalAwaited { .. })) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match &journal.history(run).await.unwrap()[0].event {
        Event::RunStarted { version, .. } => assert_eq!(*version, versioned_v1::VERSION),
        other => panic!("{other:?}"),
    }
    run
}

fn output(text: &str) -> RunOutcome {
    RunOutcome::Completed(Payload::encode(&text).unwrap())
}

#[test]
fn versions_of_one_workflow_share_its_name_and_differ_in_hash() {
    assert_ne!(versioned_v1::VERSION, versioned_v2::VERSION);
    assert_eq!(versioned_v1::NAME, versioned_v2::NAME);
}

#[tokio::test]
async fn a_run_resumes_on_the_version_it_started_on_while_new_runs_take_the_current_one() {
    let journal = Arc::new(InMemoryJournal::new());
    let run = started_on_v1(&journal).await;
    // The deploy: version 2 is current, version 1 kept compiled.
    let rt = runtime(&journal, |b| b.workflow(versioned_v2).workflow_version(versioned_v1)).await;
    rt.signal(run, "go", &2u32).await.unwrap();
    assert_eq!(rt.await_outcome(run, Duration::from_secs(5)).await.unwrap(), output("v1:42"));
    let fresh = rt.start(versioned_v2, 1, StartOptions::default()).await.unwrap();
    fresh.signal("go", &1u32).await.unwrap();
    assert_eq!(fresh.result(Duration::from_secs(5)).await.unwrap(), "v2:2");
    assert!(rt.unservable_runs().await.unwrap().is_empty());
}

#[tokio::test]
async fn with_no_process_serving_its_version_a_run_replays_on_the_current_one() {
    let journal = Arc::new(InMemoryJournal::new());
    let run = started_on_v1(&journal).await;
    let rt = runtime(&journal, |b| b.workflow(versioned_v2)).await;
    let listed: Vec<RunId> = rt.unservable_runs().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(listed, [run], "the audit names it");
    // Version 2 issues the same commands: it takes the run over.
    rt.signal(run, "go", &2u32).await.unwrap();
    assert_eq!(rt.await_outcome(run, Duration::from_secs(5)).await.unwrap(), output("v2:42"));
}

#[tokio::test]
async fn a_run_that_drifts_on_another_version_is_suspended_not_failed() {
    let journal = Arc::new(InMemoryJournal::new());
    let run = started_on_v1(&journal).await;
    {
        let rt = runtime(&journal, |b| b.workflow(versioned_v3)).await;
        // Replaying version 1's history on version 3 drifts: the run is
        // left as it was, still running, and listed by the audit.
        let listed: Vec<RunId> = rt.unservable_runs().await.unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(listed, [run]);
        rt.signal(run, "go", &2u32).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let info = journal.run_info(run).await.unwrap();
        assert_eq!(info.status, RunStatus::Running, "suspended, not failed");
        let kinds: Vec<_> = journal.history(run).await.unwrap().iter().map(|e| e.event.type_name()).collect();
        assert_eq!(kinds, ["run_started", "signal_awaited"], "nothing was journaled for it");
    }
    // Deploying version 1 again resumes it where it was, signal included.
    let rt = runtime(&journal, |b| b.workflow(versioned_v3).workflow_version(versioned_v1)).await;
    assert_eq!(rt.await_outcome(run, Duration::from_secs(5)).await.unwrap(), output("v1:42"));
}
