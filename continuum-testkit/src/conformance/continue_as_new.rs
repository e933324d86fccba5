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

/// Continues at once until `n` reaches zero, then naps briefly.
#[workflow]
pub(crate) async fn countdown(ctx: &WorkflowContext, n: u32) -> Result<String, WorkflowError> {
    if n > 0 {
        return ctx.continue_as_new(n - 1).await;
    }
    ctx.sleep(millis(20)).await;
    Ok("lift-off".into())
}

/// Naps briefly: an unrelated run sharing the commits.
#[workflow]
pub(crate) async fn short_nap(ctx: &WorkflowContext, ms: u64) -> Result<u64, WorkflowError> {
    ctx.sleep(millis(ms)).await;
    Ok(ms)
}

/// Runs that continue in their very first step — created, ended and
/// succeeded in one commit, again and again — start and finish, keep their
/// workflow id, and do not disturb the unrelated runs committed with them.
pub async fn a_run_that_continues_in_its_first_step_finishes_and_spares_the_runs_beside_it(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let mut chains = Vec::new();
    let mut naps = Vec::new();
    for i in 0..10 {
        let (rt1, rt2) = (rt.clone(), rt.clone());
        let id = format!("countdown-{i}-{}", continuum::RunId::new_random());
        chains.push(tokio::spawn(async move {
            let run = rt1.start(countdown, 3, StartOptions::id(id.clone())).await.expect("a chain starts");
            (id, run.id(), run.result(Duration::from_secs(20)).await)
        }));
        naps.push(tokio::spawn(async move {
            let run = rt2.start(short_nap, 20, StartOptions::default()).await.expect("a nap starts");
            run.result(Duration::from_secs(20)).await
        }));
    }
    for nap in naps {
        assert_eq!(nap.await.unwrap().unwrap(), 20);
    }
    for chain in chains {
        let (id, root, result) = chain.await.unwrap();
        assert_eq!(result.unwrap(), "lift-off");
        let mut run = root;
        let mut links = 0;
        while journal.run_info(run).await.unwrap().status == RunStatus::Continued {
            let next = journal.history(run).await.unwrap().iter().find_map(|e| match e.event {
                Event::RunContinuedAsNew { next, .. } => Some(next),
                _ => None,
            });
            run = next.expect("a continued run names its successor");
            assert_eq!(journal.run_info(run).await.unwrap().workflow_id, id, "the chain keeps its id");
            links += 1;
        }
        assert_eq!(links, 3);
        assert_eq!(journal.find_workflow_id(&id).await.unwrap().map(|r| r.id), Some(root));
    }
}

/// Starts a child that waits an hour, and continues in the same step.
#[workflow]
pub(crate) async fn spawn_then_continue(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    if n == 0 {
        let _: u32 = ctx.signal("never").await?;
        return Ok(0);
    }
    let _child = ctx.start_child(super::children::tree, 0).key(format!("sleeper-{n}")).await?;
    ctx.continue_as_new(n - 1).await
}

/// A child started in the same step that continues the run as new moves to
/// the successor with the other running children: cancelling the chain
/// cancels it too.
pub async fn a_child_started_in_the_step_that_continues_is_cancelled_with_the_chain(journal: Arc<dyn Journal>) {
    let rt = runtime(journal.clone()).await;
    let root = rt.start(spawn_then_continue, 2, StartOptions::default()).await.unwrap().id();
    let mut children = Vec::new();
    for _ in 0..500 {
        let tip = journal.chain_tip(root).await.unwrap();
        if journal.history(tip).await.unwrap().iter().any(|e| e.event.type_name() == "signal_awaited") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut run = root;
    loop {
        let history = journal.history(run).await.unwrap();
        children.extend(history.iter().filter_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        }));
        match history.iter().find_map(|e| match e.event {
            Event::RunContinuedAsNew { next, .. } => Some(next),
            _ => None,
        }) {
            Some(next) => run = next,
            None => break,
        }
    }
    assert_eq!(children.len(), 2, "each step before the last started a child");
    rt.cancel(root, Some("stop".into())).await.unwrap();
    for child in children {
        let mut status = journal.run_info(child).await.unwrap().status;
        for _ in 0..200 {
            if status.is_terminal() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            status = journal.run_info(child).await.unwrap().status;
        }
        assert_eq!(status, RunStatus::Cancelled, "child {child} was cancelled with its chain");
    }
}
