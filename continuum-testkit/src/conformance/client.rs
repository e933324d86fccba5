//! The client: runs started by a process that hosts nothing are picked up
//! by a worker at once; workflow ids taken, reused, attached to or taken
//! over; signal-with-start; runs addressed by workflow id.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Client, EngineConfig, IdReuse, Journal, RunOutcome, RunStatus, StartError, WorkerConfig};

use super::harness::runtime;
use super::runs::add_one;

/// Waits for a `go` signal, then adds one to what it was given.
#[workflow]
pub(crate) async fn waits_then_adds(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let go: u32 = ctx.signal("go").await?;
    Ok(ctx.activity(add_one, n + go).await?)
}

/// Adds one, or fails on an odd number.
#[workflow]
pub(crate) async fn adds_or_fails(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if n % 2 == 1 {
        return Err(WorkflowError::msg(format!("odd {n}")));
    }
    Ok(ctx.activity(add_one, n).await?)
}

/// A worker that never looks for orphaned runs on its own (its lease
/// renewal is an hour away): only the journal's hint can make it adopt.
async fn hint_only_worker(journal: Arc<dyn Journal>) -> Runtime {
    Runtime::builder()
        .journal(journal)
        .workflow(adds_or_fails)
        .workflow(waits_then_adds)
        .activity(add_one)
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(2), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_secs(3600), ..EngineConfig::default() })
        .start()
        .await
        .expect("worker starts")
}

/// A client that hosts nothing starts runs; a worker that was already
/// running picks them up at once (told by the journal, not by a lease
/// running out), and the client awaits their results.
pub async fn a_client_starts_runs_that_a_running_worker_picks_up_at_once(journal: Arc<dyn Journal>) {
    let worker = hint_only_worker(journal.clone()).await;
    let client = Client::new(journal.clone());
    let mut runs = Vec::new();
    for n in 0..20u32 {
        runs.push(client.start(adds_or_fails, n * 2, StartOptions::default()).await.unwrap());
    }
    for (n, run) in (0..20u32).zip(&runs) {
        assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), n * 2 + 1);
    }
    let by_name =
        client.start_by_name("adds_or_fails", &serde_json::json!(40), StartOptions::id("by-name")).await.unwrap();
    let outcome = client.await_outcome("by-name", Duration::from_secs(10)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(continuum::Payload::encode(&41u32).unwrap()));
    assert_eq!(journal.run_info(by_name).await.unwrap().status, RunStatus::Completed);
    match client.start_by_name("nobody_serves_this", &serde_json::json!(1), StartOptions::default()).await {
        Err(StartError::NoWorker { name, known }) => {
            assert_eq!(name, "nobody_serves_this");
            assert!(known.contains(&"adds_or_fails".to_owned()), "{known:?}");
        }
        other => panic!("{other:?}"),
    }
    drop(worker);
}

/// A workflow id is taken while its chain runs; once the chain ended, a new
/// start takes it over as its reuse policy allows; `find_workflow_id` names
/// the latest chain.
pub async fn a_workflow_id_is_reused_after_its_chain_ended_as_the_policy_allows(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let id = format!("reused-{}", continuum::RunId::new_random());
    let first = rt.start(adds_or_fails, 2, StartOptions::id(&id)).await.unwrap();
    assert_eq!(first.result(Duration::from_secs(10)).await.unwrap(), 3);
    // Ended (completed): the default policy lets the id be used again.
    let second = rt.start(adds_or_fails, 3, StartOptions::id(&id)).await.unwrap();
    assert_ne!(second.id(), first.id());
    assert!(second.result(Duration::from_secs(10)).await.is_err(), "3 is odd: the second run fails");
    assert_eq!(journal.find_workflow_id(&id).await.unwrap().map(|r| r.id), Some(second.id()));
    // `Never` refuses an id that ever named a chain.
    match rt.start(adds_or_fails, 4, StartOptions::id(&id).reuse(IdReuse::Never)).await {
        Err(StartError::DuplicateWorkflowId { existing, .. }) => assert_eq!(existing, second.id()),
        other => panic!("{other:?}"),
    }
    // After a failure, `AllowAfterFailure` takes it over...
    let third = rt.start(adds_or_fails, 6, StartOptions::id(&id).reuse(IdReuse::AllowAfterFailure)).await.unwrap();
    assert_eq!(third.result(Duration::from_secs(10)).await.unwrap(), 7);
    // ...but not after a completion.
    match rt.start(adds_or_fails, 8, StartOptions::id(&id).reuse(IdReuse::AllowAfterFailure)).await {
        Err(StartError::DuplicateWorkflowId { existing, .. }) => assert_eq!(existing, third.id()),
        other => panic!("{other:?}"),
    }
    // Through a client, the same rules.
    let client = Client::new(journal.clone());
    match client.start(adds_or_fails, 8, StartOptions::id(&id).reuse(IdReuse::Never)).await {
        Err(StartError::DuplicateWorkflowId { existing, .. }) => assert_eq!(existing, third.id()),
        other => panic!("{other:?}"),
    }
    let fourth = client.start(adds_or_fails, 10, StartOptions::id(&id)).await.unwrap();
    assert_eq!(fourth.result(Duration::from_secs(10)).await.unwrap(), 11);
}

/// While a chain runs: a plain start is refused naming it, "start or
/// attach" returns it, and "terminate if running" ends it and starts anew.
pub async fn a_start_attaches_to_or_terminates_the_running_chain_on_request(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let client = Client::new(journal.clone());
    let id = format!("held-{}", continuum::RunId::new_random());
    let running = client.start(waits_then_adds, 1, StartOptions::id(&id)).await.unwrap();
    match client.start(waits_then_adds, 2, StartOptions::id(&id)).await {
        Err(StartError::DuplicateWorkflowId { existing, .. }) => assert_eq!(existing, running.id()),
        other => panic!("{other:?}"),
    }
    let attached = rt.start(waits_then_adds, 3, StartOptions::id(&id).attach_if_running()).await.unwrap();
    assert_eq!(attached.id(), running.id());
    match client.start(adds_or_fails, 4, StartOptions::id(&id).attach_if_running()).await {
        Err(StartError::WrongWorkflow { running, .. }) => assert_eq!(running, "waits_then_adds"),
        other => panic!("{other:?}"),
    }
    let replacement = client.start(waits_then_adds, 10, StartOptions::id(&id).terminate_if_running()).await.unwrap();
    assert_ne!(replacement.id(), running.id());
    assert_eq!(journal.run_info(running.id()).await.unwrap().status, RunStatus::Cancelled);
    client.signal(id.as_str(), "go", &5u32).await.unwrap();
    assert_eq!(replacement.result(Duration::from_secs(10)).await.unwrap(), 16);
}

/// Signal-with-start: with no chain running, the run starts and its first
/// step finds the signal; with one running, the signal goes to it.
pub async fn signal_with_start_starts_or_signals_the_running_chain(journal: Arc<dyn Journal>) {
    let _rt = runtime(journal.clone()).await;
    let client = Client::new(journal.clone());
    let id = format!("sws-{}", continuum::RunId::new_random());
    let started = client.signal_with_start(waits_then_adds, 1, StartOptions::id(&id), "go", &2u32).await.unwrap();
    assert_eq!(started.result(Duration::from_secs(10)).await.unwrap(), 4);
    let id2 = format!("sws2-{}", continuum::RunId::new_random());
    let first = client.start(waits_then_adds, 100, StartOptions::id(&id2)).await.unwrap();
    let again = client.signal_with_start(waits_then_adds, 7, StartOptions::id(&id2), "go", &1u32).await.unwrap();
    assert_eq!(again.id(), first.id(), "the running chain got the signal");
    assert_eq!(first.result(Duration::from_secs(10)).await.unwrap(), 102);
}

/// A signal sent with a delivery id is delivered once per chain: a resend
/// (also a concurrent one, also after the chain continued as new or
/// ended) is acknowledged as a duplicate and never consumed.
pub async fn a_signal_delivery_id_is_delivered_once_per_chain(journal: Arc<dyn Journal>) {
    use continuum::SignalDelivery::{Delivered, Duplicate};
    let rt = runtime(journal.clone()).await;
    let id = format!("dedup-{}", continuum::RunId::new_random());
    // `billing` takes four `charge` signals, continuing as new after each
    // of the first three, and returns their sum.
    let run = rt.start(super::continue_as_new::billing, (0, 0), StartOptions::id(&id)).await.unwrap();
    let client = Client::new(journal.clone());
    let (a, b) = tokio::join!(
        client.signal_with_id(id.as_str(), "charge", &1u32, "c0"),
        rt.signal_with_id(id.as_str(), "charge", &1u32, "c0"),
    );
    let mut both = [a.unwrap(), b.unwrap()];
    both.sort_by_key(|d| *d == Duplicate);
    assert_eq!(both, [Delivered, Duplicate], "concurrent sends of one id deliver it once");
    for (i, amount) in [(1, 10u32), (2, 100), (3, 1000)] {
        // A resend of the previous id, to whichever run of the chain is
        // live now.
        let previous = format!("c{}", i - 1);
        assert_eq!(client.signal_with_id(id.as_str(), "charge", &5000u32, &previous).await.unwrap(), Duplicate);
        let fresh = format!("c{i}");
        assert_eq!(client.signal_with_id(id.as_str(), "charge", &amount, &fresh).await.unwrap(), Delivered);
    }
    let total = client.await_outcome(id.as_str(), Duration::from_secs(10)).await.unwrap();
    assert_eq!(total, RunOutcome::Completed(continuum::Payload::encode(&1111u32).unwrap()), "no duplicate consumed");
    assert_eq!(client.signal_with_id(id.as_str(), "charge", &1u32, "c2").await.unwrap(), Duplicate, "after the end");
    assert!(matches!(
        client.signal_with_id(id.as_str(), "charge", &1u32, "c9").await,
        Err(continuum::SignalSendError::RunTerminal { .. })
    ));
    assert!(matches!(
        client.signal_with_id(run.id(), "charge", &1u32, "").await,
        Err(continuum::SignalSendError::Journal(continuum::JournalError::InvalidInput { .. }))
    ));
    let long = "x".repeat(continuum::runtime::MAX_DELIVERY_ID_BYTES + 1);
    assert!(matches!(
        client.signal_with_id(run.id(), "charge", &1u32, &long).await,
        Err(continuum::SignalSendError::Journal(continuum::JournalError::InvalidInput { .. }))
    ));
}
