//! Signals: delivery and order of signals sent before their await, and
//! typed errors for signals to runs that are missing or ended.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Journal, SignalSendError, StartError};

use super::harness::runtime;

/// Awaits two `word` signals and joins them with a space.
#[workflow]
pub async fn two_signals(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let a: String = ctx.signal("word").await?;
    let b: String = ctx.signal("word").await?;
    Ok(format!("{a} {b}"))
}

/// Signals sent before the run awaits them wait in the mailbox, are
/// consumed by the awaits in the order sent, and leave the mailbox empty.
pub async fn signal_sent_before_its_await_is_consumed_and_same_name_signals_are_fifo(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let run = rt.start(two_signals, (), StartOptions::id("fifo")).await.unwrap();
    run.signal("word", &"first").await.unwrap();
    run.signal("word", &"second").await.unwrap();
    assert_eq!(run.result(Duration::from_secs(20)).await.unwrap(), "first second");
    assert!(journal.mailbox(run.id()).await.unwrap().is_empty(), "both signals consumed");
}

/// Starting a second run under a taken workflow id, and signalling a run
/// that does not exist or has ended, are typed errors.
pub async fn duplicate_ids_and_signals_to_missing_or_ended_runs_are_typed_errors(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let run = rt.start(two_signals, (), StartOptions::id("dup")).await.unwrap();
    let again = rt.start(two_signals, (), StartOptions::id("dup")).await;
    assert!(matches!(again, Err(StartError::DuplicateWorkflowId { existing, .. }) if existing == run.id()));
    let missing = rt.signal(continuum::RunId::new_random(), "word", &"x").await;
    assert!(matches!(missing, Err(SignalSendError::RunNotFound(_))), "{missing:?}");
    run.cancel(None).await.unwrap();
    rt.await_outcome(run.id(), Duration::from_secs(20)).await.unwrap();
    let ended = rt.signal(run.id(), "word", &"x").await;
    assert!(matches!(ended, Err(SignalSendError::RunTerminal { .. })), "{ended:?}");
}
