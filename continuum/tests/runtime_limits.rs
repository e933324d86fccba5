//! The runtime on the in-memory journal, at its edges: waiting forever,
//! activities nobody registered, outputs and error texts over their caps,
//! concurrent starts of one workflow id, and a testkit crash that keeps
//! the engine's limits.

use std::time::Duration;

use continuum::prelude::*;
use continuum::{ActivityErrorKind, EngineConfig, Event, RunFailure, RunOutcome, StartError, WorkerConfig};
use continuum_testkit::TestEnv;

#[workflow]
async fn waits_for_go(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    Ok(ctx.signal::<String>("go").await?)
}

#[tokio::test]
async fn a_result_wait_of_duration_max_waits_until_the_run_ends() {
    let rt = Runtime::builder().workflow(waits_for_go).start().await.unwrap();
    let run = rt.start(waits_for_go, (), StartOptions::default()).await.unwrap();
    let waiter = {
        let rt = rt.clone();
        let id = run.id();
        tokio::spawn(async move { rt.await_outcome(id, Duration::MAX).await })
    };
    let handle = tokio::spawn({
        let rt = rt.clone();
        let id = run.id();
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            rt.signal(id, "go", &"now").await
        }
    });
    assert_eq!(run.result(Duration::MAX).await.unwrap(), "now");
    handle.await.unwrap().unwrap();
    let outcome = waiter.await.unwrap().unwrap();
    assert!(matches!(outcome, RunOutcome::Completed(_)), "{outcome:?}");
}

#[activity]
async fn registered_nowhere(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[workflow]
async fn calls_unregistered_activity(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    match ctx.activity(registered_nowhere, n).await {
        Ok(v) => Ok(format!("ran: {v}")),
        Err(e) => Ok(format!("{:?}: {}", e.kind, e.message)),
    }
}

#[tokio::test]
async fn an_activity_no_worker_registers_fails_with_a_typed_error_on_a_single_process_journal() {
    let rt = Runtime::builder().workflow(calls_unregistered_activity).start().await.unwrap();
    let run = rt.start(calls_unregistered_activity, 3, StartOptions::default()).await.unwrap();
    let out = run.result(Duration::from_secs(5)).await.unwrap();
    assert_eq!(out, "UnknownActivity: no activity named `registered_nowhere` is registered with this runtime");
    let history = rt.history(run.id()).await.unwrap();
    let failed = history.iter().find_map(|e| match &e.event {
        Event::ActivityFailed { error, .. } => Some(error.kind),
        _ => None,
    });
    assert_eq!(failed, Some(ActivityErrorKind::UnknownActivity), "the failure is journaled like any other");
}

#[activity]
async fn big_output(n: usize) -> Result<String, ActivityError> {
    Ok("o".repeat(n))
}

#[activity(retry(max_attempts = 1))]
async fn long_error(n: usize) -> Result<(), ActivityError> {
    Err(ActivityError::non_retryable("e".repeat(n)))
}

#[workflow]
async fn output_probe(ctx: &WorkflowContext, n: usize) -> Result<String, WorkflowError> {
    match ctx.activity(big_output, n).await {
        Ok(s) => Ok(format!("got {}", s.len())),
        Err(e) => Ok(format!("{:?}: {}", e.kind, e.message)),
    }
}

#[workflow]
async fn error_probe(ctx: &WorkflowContext, n: usize) -> Result<usize, WorkflowError> {
    match ctx.activity(long_error, n).await {
        Ok(()) => Ok(0),
        Err(e) => Ok(e.message.len()),
    }
}

#[workflow]
async fn returns_big(_ctx: &WorkflowContext, n: usize) -> Result<String, WorkflowError> {
    Ok("r".repeat(n))
}

#[workflow]
async fn fails_long(_ctx: &WorkflowContext, n: usize) -> Result<(), WorkflowError> {
    Err(WorkflowError::msg("w".repeat(n)))
}

async fn capped_runtime() -> Runtime {
    Runtime::builder()
        .workflow(output_probe)
        .workflow(error_probe)
        .workflow(returns_big)
        .workflow(fails_long)
        .activity(big_output)
        .activity(long_error)
        .engine_config(EngineConfig { max_payload_bytes: 1024, ..EngineConfig::default() })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_oversize_activity_output_is_a_payload_error_and_is_not_journaled() {
    let rt = capped_runtime().await;
    let fits = rt.start(output_probe, 100, StartOptions::default()).await.unwrap();
    assert_eq!(fits.result(Duration::from_secs(5)).await.unwrap(), "got 100");
    let big = rt.start(output_probe, 5000, StartOptions::default()).await.unwrap();
    let out = big.result(Duration::from_secs(5)).await.unwrap();
    assert!(out.starts_with("Payload: the output of 5002 bytes exceeds the cap of 1024 bytes"), "{out}");
    let history = rt.history(big.id()).await.unwrap();
    assert!(history.iter().all(|e| !matches!(e.event, Event::ActivityCompleted { .. })), "no oversize output stored");
}

#[tokio::test]
async fn long_error_texts_are_cut_with_a_marker_naming_their_size() {
    let rt = capped_runtime().await;
    let run = rt.start(error_probe, 100_000, StartOptions::default()).await.unwrap();
    let kept = run.result(Duration::from_secs(5)).await.unwrap();
    assert!(kept <= continuum::limits::MAX_ERROR_MESSAGE_BYTES, "{kept}");
    let history = rt.history(run.id()).await.unwrap();
    let message = history
        .iter()
        .find_map(|e| match &e.event {
            Event::ActivityFailed { error, .. } => Some(error.message.clone()),
            _ => None,
        })
        .expect("failure journaled");
    assert!(message.ends_with("… [truncated: 100000 bytes in all]"), "{}", &message[message.len() - 60..]);

    let failed = rt.start(fails_long, 50_000, StartOptions::default()).await.unwrap();
    match rt.await_outcome(failed.id(), Duration::from_secs(5)).await.unwrap() {
        RunOutcome::Failed(RunFailure::Error { message }) => {
            assert!(message.len() <= continuum::limits::MAX_ERROR_MESSAGE_BYTES);
            assert!(message.ends_with("bytes in all]"), "{}", &message[message.len() - 40..]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_oversize_workflow_output_fails_the_run_with_a_typed_failure() {
    let rt = capped_runtime().await;
    let run = rt.start(returns_big, 5000, StartOptions::default()).await.unwrap();
    match rt.await_outcome(run.id(), Duration::from_secs(5)).await.unwrap() {
        RunOutcome::Failed(RunFailure::OutputTooLarge { bytes: 5002, max: 1024 }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn concurrent_starts_of_one_id_create_one_run_and_every_refusal_names_it() {
    let rt = Runtime::builder().workflow(waits_for_go).start().await.unwrap();
    for round in 0..20 {
        let id = format!("shared-{round}");
        let mut starts = Vec::new();
        for _ in 0..8 {
            let rt = rt.clone();
            let id = id.clone();
            starts.push(tokio::spawn(async move { rt.start(waits_for_go, (), StartOptions::id(id)).await }));
        }
        let mut winners = Vec::new();
        let mut named = Vec::new();
        for start in starts {
            match start.await.unwrap() {
                Ok(run) => winners.push(run.id()),
                Err(StartError::DuplicateWorkflowId { existing, .. }) => named.push(existing),
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one run holds `{id}`");
        assert!(named.iter().all(|r| *r == winners[0]), "every refusal names the holder: {named:?} vs {winners:?}");
        let holder = rt.journal().find_workflow_id(&id).await.unwrap().expect("the run exists");
        assert_eq!(holder.id, winners[0]);
    }
}

#[activity]
async fn echo(text: String) -> Result<String, ActivityError> {
    Ok(text)
}

#[workflow]
async fn sends_after_signal(ctx: &WorkflowContext, size: usize) -> Result<String, WorkflowError> {
    let _: String = ctx.signal("go").await?;
    match ctx.activity(echo, "p".repeat(size)).await {
        Ok(_) => Ok("sent".into()),
        Err(e) => Ok(format!("{:?}", e.kind)),
    }
}

#[test]
fn a_testkit_crash_keeps_the_engines_limits() {
    let mut env = TestEnv::builder()
        .workflow(sends_after_signal)
        .activity(echo)
        .engine_config(EngineConfig { max_payload_bytes: 256, ..EngineConfig::default() })
        .build();
    let run = env.start(sends_after_signal, 1000);
    env.crash();
    env.inject_signal(run.id(), "go", &"now").unwrap();
    assert_eq!(env.result(&run), Some(Ok("Payload".to_string())), "the 256-byte cap holds after the crash");
}

#[tokio::test]
async fn a_worker_output_cap_can_be_set_below_the_engines() {
    let rt = Runtime::builder()
        .workflow(output_probe)
        .activity(big_output)
        .worker_config(WorkerConfig { max_output_bytes: Some(64), ..WorkerConfig::default() })
        .start()
        .await
        .unwrap();
    let run = rt.start(output_probe, 100, StartOptions::default()).await.unwrap();
    let out = run.result(Duration::from_secs(5)).await.unwrap();
    assert!(out.starts_with("Payload: the output of 102 bytes exceeds the cap of 64 bytes"), "{out}");
}

#[workflow]
async fn naps(ctx: &WorkflowContext, ms: u64) -> Result<u64, WorkflowError> {
    ctx.sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[tokio::test]
async fn a_due_timer_of_an_evicted_run_survives_a_failed_load() {
    use continuum::JournalError;
    use continuum_testkit::faults::{FaultyJournal, Op};
    let journal = FaultyJournal::new(std::sync::Arc::new(continuum::InMemoryJournal::new()));
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(naps)
        .engine_config(EngineConfig { max_live_runs: 1, ..EngineConfig::default() })
        .start()
        .await
        .unwrap();
    let short = rt.start(naps, 300, StartOptions::default()).await.unwrap();
    // A second live run pushes the first out of memory.
    let long = rt.start(naps, 60_000, StartOptions::default()).await.unwrap();
    assert!(rt.stats().await.unwrap().evictions >= 1, "the first run was evicted");
    // Reading its history fails three times when its timer comes due.
    journal.fail(Op::History, 3, JournalError::Unavailable("connection reset by peer".into()));
    assert_eq!(short.result(Duration::from_secs(10)).await.unwrap(), 300);
    assert_eq!(journal.calls(Op::History), 4, "three failed loads, then the one that worked");
    long.cancel(None).await.unwrap();
}

#[activity]
async fn poison(n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[activity]
async fn wholesome(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

#[workflow]
async fn takes_poison(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if n % 2 == 1 {
        ctx.sleep(Duration::from_millis(10)).await;
    }
    Ok(ctx.activity(poison, n).await?)
}

#[workflow]
async fn takes_wholesome(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    ctx.sleep(Duration::from_millis(20)).await;
    Ok(ctx.activity(wholesome, n).await?)
}

#[tokio::test]
async fn a_write_the_journal_rejects_fails_its_own_run_and_no_other() {
    use continuum::journal::RunWrite;
    use continuum_testkit::faults::FaultyJournal;
    let journal = FaultyJournal::new(std::sync::Arc::new(continuum::InMemoryJournal::new()));
    // The store rejects any write that schedules `poison`, whatever else
    // the same commit carries.
    journal.refuse_writes(|w: &RunWrite| w.append.new_tasks.iter().any(|t| t.activity == "poison"));
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(takes_poison)
        .workflow(takes_wholesome)
        .activity(poison)
        .activity(wholesome)
        .start()
        .await
        .unwrap();
    let mut healthy = Vec::new();
    let mut poisoned = Vec::new();
    for n in 0..20 {
        healthy.push(rt.start(takes_wholesome, n, StartOptions::default()).await.unwrap());
        // Started on its own, then scheduling `poison` in a later write.
        poisoned.push(rt.start(takes_poison, n, StartOptions::default()).await);
    }
    for (n, run) in (0..).zip(&healthy) {
        assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), n + 1, "unrelated runs are not disturbed");
    }
    for (n, start) in (0..).zip(poisoned) {
        match start {
            // Scheduled in the run's first write: the start itself is
            // refused, with the journal's typed error.
            Err(StartError::Journal(continuum::JournalError::WriteRefused { .. })) if n % 2 == 0 => {}
            // Scheduled in a later write: the run fails, saying why, and
            // the write is not retried.
            Ok(run) if n % 2 == 1 => match rt.await_outcome(run.id(), Duration::from_secs(10)).await.unwrap() {
                RunOutcome::Failed(RunFailure::WriteRefused { detail }) => assert_eq!(detail, "refused by the test"),
                other => panic!("{other:?}"),
            },
            other => panic!("{n}: {other:?}"),
        }
    }
}

#[workflow]
async fn empty_child(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(n)
}

/// Two answers arrive together; the second reaches the run while the
/// write of the first is in flight, and the run starts a child.
#[workflow]
async fn child_after_join(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let (a, ()) = join(ctx.activity(echo, format!("{n}")), ctx.sleep(Duration::from_millis(1))).await;
    let _ = a?;
    Ok(ctx.child(empty_child, n).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_started_while_its_parents_write_is_in_flight_is_created_with_the_next_commit() {
    use continuum_testkit::faults::{FaultyJournal, Op};
    let journal = FaultyJournal::new(std::sync::Arc::new(continuum::InMemoryJournal::new()));
    // Slow commits keep the parent's write in flight when its next answer
    // arrives.
    journal.delay(Op::Commit, Duration::from_millis(30));
    let rt = Runtime::builder()
        .journal(journal.clone())
        .workflow(child_after_join)
        .workflow(empty_child)
        .activity(echo)
        .start()
        .await
        .unwrap();
    let mut runs = Vec::new();
    for n in 0..20 {
        runs.push(rt.start(child_after_join, n, StartOptions::default()).await.unwrap());
    }
    for (n, run) in (0..).zip(runs) {
        assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), n, "the engine went on");
    }
}
