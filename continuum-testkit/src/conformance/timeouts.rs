//! Execution timeouts: a chain that has not ended by its deadline fails
//! with `ExecutionTimedOut` (counted from its first start, across
//! `continue_as_new`), and its running children are cancelled; a chain
//! that ends in time is unaffected.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, Journal, RunFailure, RunOutcome, RunStatus};

use super::children::tree;
use super::client::adds_or_fails;
use super::continue_as_new::billing;
use super::harness::{runtime, wait_for};

/// A chain that continues as new keeps its first start's deadline; when
/// it passes, the live run fails with `ExecutionTimedOut` at that
/// deadline, and so does what `await_outcome` on the workflow id sees.
pub async fn a_chain_past_its_execution_timeout_fails_timed_out(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let id = format!("deadline-{}", continuum::RunId::new_random());
    let first =
        rt.start(billing, (0, 0), StartOptions::id(&id).execution_timeout(Duration::from_millis(600))).await.unwrap();
    rt.signal(id.as_str(), "charge", &1u32).await.unwrap();
    let outcome = rt.await_outcome(id.as_str(), Duration::from_secs(20)).await.unwrap();
    let RunOutcome::Failed(RunFailure::ExecutionTimedOut { deadline }) = outcome else {
        panic!("expected an execution timeout, got {outcome:?}")
    };
    let history = journal.history(first.id()).await.unwrap();
    let (started_at, first_deadline) = match &history[0].event {
        Event::RunStarted { deadline, .. } => (history[0].at, deadline.expect("the deadline is journaled")),
        other => panic!("{other:?}"),
    };
    assert_eq!(deadline, first_deadline, "the successor carries the chain's deadline");
    assert_eq!(first_deadline - started_at, chrono::Duration::milliseconds(600));
    assert_eq!(journal.run_info(first.id()).await.unwrap().status, RunStatus::Continued);
    let tip = journal.chain_tip(first.id()).await.unwrap();
    assert_ne!(tip, first.id(), "the chain continued before timing out");
    assert_eq!(journal.run_info(tip).await.unwrap().status, RunStatus::Failed);
    // A client's start carries the timeout too (the adopting worker arms it).
    let client = continuum::Client::new(journal.clone());
    let started = client
        .start(billing, (0, 0), StartOptions::default().execution_timeout(Duration::from_millis(300)))
        .await
        .unwrap();
    let outcome = client.await_outcome(started.id(), Duration::from_secs(20)).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Failed(RunFailure::ExecutionTimedOut { .. })), "{outcome:?}");
    // A chain that ends in time is unaffected.
    let quick =
        rt.start(adds_or_fails, 2, StartOptions::default().execution_timeout(Duration::from_secs(60))).await.unwrap();
    assert_eq!(quick.result(Duration::from_secs(10)).await.unwrap(), 3);
}

/// A parent that times out takes its running descendants with it: they
/// end cancelled.
pub async fn a_parent_past_its_execution_timeout_cancels_its_children(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let id = format!("deadline-tree-{}", continuum::RunId::new_random());
    let root = rt.start(tree, 1, StartOptions::id(&id).execution_timeout(Duration::from_millis(800))).await.unwrap();
    wait_for(&journal, root.id(), "child_started").await;
    let outcome = rt.await_outcome(root.id(), Duration::from_secs(20)).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Failed(RunFailure::ExecutionTimedOut { .. })), "{outcome:?}");
    let child = journal
        .history(root.id())
        .await
        .unwrap()
        .iter()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .expect("the child");
    assert_eq!(journal.run_info(child).await.unwrap().status, RunStatus::Cancelled);
}
