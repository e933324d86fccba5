//! `continue_as_new`: a run ends as `continued` and a fresh run with an
//! empty history carries on; signals and awaits on any run of the chain
//! reach its live tip; undelivered signals move on; a bad input fails the
//! run instead.

use std::collections::BTreeMap;

use continuum::prelude::*;
use continuum::{AwaitError, Event, HistoryEvent, RunFailure, RunStatus};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

/// A subscription: each billing cycle waits for a charge, then continues
/// as new with the running total; after the last cycle it returns it.
#[workflow]
async fn subscription(ctx: &WorkflowContext, state: (u32, u32)) -> Result<u32, WorkflowError> {
    let (cycle, total) = state;
    let charge: u32 = ctx.signal("charge").await?;
    if cycle < 3 {
        return ctx.continue_as_new((cycle + 1, total + charge)).await;
    }
    Ok(total + charge)
}

fn chain(env: &TestEnv, root: RunId) -> Vec<RunId> {
    let mut runs = vec![root];
    loop {
        let last = *runs.last().unwrap();
        match env.history(last).last().map(|e| e.event.clone()) {
            Some(Event::RunContinuedAsNew { next, .. }) => runs.push(next),
            _ => return runs,
        }
    }
}

#[test]
fn signals_to_the_root_reach_the_tip_and_awaiting_the_root_gives_the_final_result() {
    let mut env = TestEnv::builder().workflow(subscription).paranoid(true).build();
    let run = env.start(subscription, (1, 0));
    env.inject_signal(run.id(), "charge", &10u32).unwrap();
    env.inject_signal(run.id(), "charge", &20u32).unwrap();
    assert!(env.result(&run).is_none(), "two continuations in, the third cycle waits");
    // Sent to the root, which ended two runs ago.
    env.inject_signal(run.id(), "charge", &30u32).unwrap();
    assert_eq!(env.result(&run), Some(Ok(60)));

    let runs = chain(&env, run.id());
    assert_eq!(runs.len(), 3);
    for (i, id) in runs.iter().enumerate() {
        let history = env.history(*id);
        let end = if i < 2 { "run_continued_as_new" } else { "run_completed" };
        assert_eq!(kinds(&history), ["run_started", "signal_awaited", "signal_received", end], "run {i}");
        let status = env.run_info(*id).unwrap().status;
        assert_eq!(status, if i < 2 { RunStatus::Continued } else { RunStatus::Completed });
    }
    match &env.history(runs[1])[0].event {
        Event::RunStarted { continued_from, input, .. } => {
            assert_eq!(*continued_from, Some(runs[0]));
            assert_eq!(input.decode::<(u32, u32)>().unwrap(), (2, 10));
        }
        other => panic!("{other:?}"),
    }
    // One workflow id for the chain: it names the root.
    let info = env.run_info(runs[2]).unwrap();
    assert_eq!(info.workflow_id, env.run_info(run.id()).unwrap().workflow_id);
}

#[test]
fn signals_waiting_in_the_mailbox_move_to_the_successor() {
    let mut env = TestEnv::builder().workflow(subscription).paranoid(true).build();
    let run = env.start(subscription, (1, 0));
    // Three charges at once: the first run takes one, the rest move on.
    let root = run.id();
    env.inject_signal(root, "charge", &1u32).unwrap();
    env.inject_signal(root, "charge", &2u32).unwrap();
    env.inject_signal(root, "charge", &3u32).unwrap();
    assert_eq!(env.result(&run), Some(Ok(6)));
    assert_eq!(chain(&env, root).len(), 3);
}

#[workflow]
async fn bills_through_a_child(ctx: &WorkflowContext, _input: ()) -> Result<u32, WorkflowError> {
    Ok(ctx.child(subscription, (1, 100)).await?)
}

#[test]
fn a_continued_child_stays_its_parents_child() {
    let mut env = TestEnv::builder().workflow(subscription).workflow(bills_through_a_child).paranoid(true).build();
    let run = env.start(bills_through_a_child, ());
    let child = env
        .history(run.id())
        .iter()
        .find_map(|e| match e.event {
            Event::ChildStarted { child, .. } => Some(child),
            _ => None,
        })
        .expect("a child");
    for amount in [1u32, 2, 3] {
        env.inject_signal(child, "charge", &amount).unwrap();
    }
    assert_eq!(env.result(&run), Some(Ok(106)), "the parent gets the chain's final result");
    let runs = chain(&env, child);
    assert_eq!(runs.len(), 3);
    assert_eq!(env.run_info(runs[2]).unwrap().parent.map(|p| p.run), Some(run.id()));
    assert_eq!(
        kinds(&env.history(run.id())),
        ["run_started", "child_started", "child_completed", "run_completed"],
        "continuations are not the child's end"
    );
}

/// Serializing fails: JSON map keys must be strings.
#[workflow]
async fn continues_with_unencodable(ctx: &WorkflowContext, _input: ()) -> Result<(), WorkflowError> {
    let mut bad: BTreeMap<(u8, u8), u8> = BTreeMap::new();
    bad.insert((1, 2), 3);
    ctx.continue_as_new(bad).await
}

#[workflow]
async fn continues_with_another_type(ctx: &WorkflowContext, n: u32) -> Result<(), WorkflowError> {
    ctx.continue_as_new(format!("not a number: {n}")).await
}

#[test]
fn an_input_that_does_not_encode_or_fit_fails_the_run_before_anything_continues() {
    let mut env = TestEnv::builder()
        .workflow(continues_with_unencodable)
        .workflow(continues_with_another_type)
        .paranoid(true)
        .build();
    let run = env.start(continues_with_unencodable, ());
    let Some(Err(AwaitError::Failed { failure: RunFailure::Error { message }, .. })) = env.result(&run) else {
        panic!("{:?}", env.result(&run))
    };
    assert!(message.contains("continue_as_new input could not be recorded"), "{message}");
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "run_failed"]);

    let run = env.start(continues_with_another_type, 5);
    let Some(Err(AwaitError::Failed { failure: RunFailure::Error { message }, .. })) = env.result(&run) else {
        panic!("{:?}", env.result(&run))
    };
    assert!(message.contains("not the workflow's input type"), "{message}");
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "run_failed"]);
}
