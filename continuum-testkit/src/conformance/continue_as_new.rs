//! Continue-as-new: a chain of runs under one workflow id, reached through
//! its root across a crash.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{Event, Journal, Payload, RunOutcome, RunStatus};

use super::harness::{kinds, runtime};

#[workflow]
pub(crate) async fn billing(ctx: &WorkflowContext, state: (u32, u32)) -> Result<u32, WorkflowError> {
    let (cycle, total) = state;
    let charge: u32 = ctx.signal("charge").await?;
    if cycle < 3 {
        return ctx.continue_as_new((cycle + 1, total + charge)).await;
    }
    Ok(total + charge)
}

/// Two continuations in, the process dies; a signal sent to the chain's
/// root from the next runtime reaches the live tip, and awaiting the root
/// returns the chain's final result.
pub async fn a_signal_to_a_chain_root_reaches_the_tip_and_await_on_the_root_gets_the_end(journal: Arc<dyn Journal>) {
    let workflow_id = format!("billing-{}", continuum::RunId::new_random());
    let first = runtime(journal.clone()).await;
    let root = first.start(billing, (1, 0), StartOptions::id(workflow_id.clone())).await.unwrap().id();
    first.signal(root, "charge", &10u32).await.unwrap();
    first.signal(root, "charge", &20u32).await.unwrap();
    let mut tip = root;
    for _ in 0..500 {
        tip = journal.chain_tip(root).await.unwrap();
        if tip != root && journal.run_info(tip).await.unwrap().last_seq >= 2 {
            let run = journal.history(tip).await.unwrap();
            if matches!(&run[0].event, Event::RunStarted { input, .. } if input.decode::<(u32, u32)>().unwrap() == (3, 30))
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_ne!(tip, root);
    drop(first);
    let second = runtime(journal.clone()).await;
    second.signal(root, "charge", &30u32).await.unwrap();
    let outcome = second.await_outcome(root, Duration::from_secs(20)).await.unwrap();
    assert_eq!(outcome, RunOutcome::Completed(Payload::encode(&60u32).unwrap()));
    assert_eq!(journal.run_info(root).await.unwrap().status, RunStatus::Continued);
    let last = journal.run_info(tip).await.unwrap();
    assert_eq!((last.status, last.workflow_id.as_str()), (RunStatus::Completed, workflow_id.as_str()));
    assert_eq!(
        journal.find_workflow_id(&workflow_id).await.unwrap().map(|r| r.id),
        Some(root),
        "the id names the root"
    );
    assert_eq!(
        kinds(&journal.history(tip).await.unwrap()),
        ["run_started", "signal_awaited", "signal_received", "run_completed"]
    );
}
