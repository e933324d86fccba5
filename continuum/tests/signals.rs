//! Signals through the testkit: the durable mailbox (signals sent before
//! their await, same-name ordering, per-name matching), signal-wait
//! timeouts, typed send errors, and bodies that do not decode.

use continuum::prelude::*;
use continuum::{Clock, Event, HistoryEvent, Journal, Payload, RunStatus, SignalSendError};
use continuum_testkit::TestEnv;

fn kinds(history: &[HistoryEvent]) -> Vec<&'static str> {
    history.iter().map(|e| e.event.type_name()).collect()
}

fn mailbox_len(env: &TestEnv, run: RunId) -> usize {
    futures::executor::block_on(env.journal().mailbox(run)).unwrap().len()
}

#[workflow]
async fn approve_after_an_hour(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    ctx.sleep(hours(1)).await;
    let approval = ctx.signal::<String>("approval").await?;
    Ok(approval)
}

#[test]
fn signal_sent_before_its_await_is_consumed_by_it() {
    let mut env = TestEnv::builder().workflow(approve_after_an_hour).build();
    let run = env.start(approve_after_an_hour, ());
    assert!(env.result(&run).is_none());

    env.inject_signal(run.id(), "approval", &"approved by ada".to_string()).unwrap();
    // The workflow is still sleeping: the signal waits in the mailbox and
    // nothing is journaled for it yet.
    assert!(env.result(&run).is_none());
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "timer_started"]);
    assert_eq!(mailbox_len(&env, run.id()), 1);

    env.advance(hours(1));
    assert_eq!(env.result(&run), Some(Ok("approved by ada".to_string())));

    let history = env.history(run.id());
    assert_eq!(
        kinds(&history),
        ["run_started", "timer_started", "timer_fired", "signal_awaited", "signal_received", "run_completed"]
    );
    let awaited = &history[3];
    assert!(
        matches!(&awaited.event, Event::SignalAwaited { name, timeout_at: None, .. } if name == "approval"),
        "{awaited:?}"
    );
    assert_eq!(
        history[4].event,
        Event::SignalReceived { awaited: awaited.seq, payload: Payload::encode("approved by ada").unwrap() }
    );
    assert_eq!(mailbox_len(&env, run.id()), 0, "the consumed signal left the mailbox");
}

#[workflow]
async fn two_items_after_an_hour(ctx: &WorkflowContext, _input: ()) -> Result<Vec<String>, WorkflowError> {
    ctx.sleep(hours(1)).await;
    let first = ctx.signal::<String>("item").await?;
    let second = ctx.signal::<String>("item").await?;
    Ok(vec![first, second])
}

#[test]
fn same_name_signals_are_consumed_in_arrival_order() {
    let mut env = TestEnv::builder().workflow(two_items_after_an_hour).build();
    let run = env.start(two_items_after_an_hour, ());
    env.inject_signal(run.id(), "item", &"a").unwrap();
    env.inject_signal(run.id(), "item", &"b").unwrap();
    assert!(env.result(&run).is_none());

    env.advance(hours(1));
    assert_eq!(env.result(&run), Some(Ok(vec!["a".to_string(), "b".to_string()])));

    let received: Vec<Payload> = env
        .history(run.id())
        .into_iter()
        .filter_map(|e| match e.event {
            Event::SignalReceived { payload, .. } => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(received, [Payload::encode("a").unwrap(), Payload::encode("b").unwrap()]);
}

#[workflow]
async fn first_then_second(ctx: &WorkflowContext, _input: ()) -> Result<(String, String), WorkflowError> {
    let first = ctx.signal::<String>("first").await?;
    let second = ctx.signal::<String>("second").await?;
    Ok((first, second))
}

#[test]
fn signals_of_other_names_wait_for_their_own_await() {
    let mut env = TestEnv::builder().workflow(first_then_second).build();
    let run = env.start(first_then_second, ());
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "signal_awaited"]);

    // "second" arrives while the workflow waits on "first": it must not
    // resolve that wait.
    env.inject_signal(run.id(), "second", &"second body").unwrap();
    assert!(env.result(&run).is_none());
    assert_eq!(kinds(&env.history(run.id())), ["run_started", "signal_awaited"]);
    assert_eq!(mailbox_len(&env, run.id()), 1);

    env.inject_signal(run.id(), "first", &"first body").unwrap();
    assert_eq!(env.result(&run), Some(Ok(("first body".to_string(), "second body".to_string()))));

    let history = env.history(run.id());
    assert_eq!(
        kinds(&history),
        ["run_started", "signal_awaited", "signal_received", "signal_awaited", "signal_received", "run_completed"]
    );
    assert!(matches!(&history[1].event, Event::SignalAwaited { name, .. } if name == "first"));
    assert_eq!(
        history[2].event,
        Event::SignalReceived { awaited: history[1].seq, payload: Payload::encode("first body").unwrap() }
    );
    assert!(matches!(&history[3].event, Event::SignalAwaited { name, .. } if name == "second"));
    assert_eq!(
        history[4].event,
        Event::SignalReceived { awaited: history[3].seq, payload: Payload::encode("second body").unwrap() }
    );
}

#[activity]
async fn label_after_wait(wait: String) -> Result<String, ActivityError> {
    Ok(format!("continued after {wait}"))
}

/// What `wait_for_x_or_give_up` saw and did.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct WaitReport {
    wait: Result<u32, SignalError>,
    after: String,
}

#[workflow]
async fn wait_for_x_or_give_up(ctx: &WorkflowContext, _input: ()) -> Result<WaitReport, WorkflowError> {
    let wait = ctx.signal::<u32>("x").timeout(minutes(5)).await;
    let what = if wait.is_err() { "timeout" } else { "signal" };
    let after = ctx.activity(label_after_wait, what.to_string()).await?;
    Ok(WaitReport { wait, after })
}

#[test]
fn signal_wait_with_timeout_returns_timeout_value_and_run_continues() {
    let mut env = TestEnv::builder().workflow(wait_for_x_or_give_up).activity(label_after_wait).build();
    let started_at = env.clock().now();
    let run = env.start(wait_for_x_or_give_up, ());
    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "signal_awaited"]);
    let timeout_at = started_at + chrono::Duration::minutes(5);
    assert!(
        matches!(&history[1].event, Event::SignalAwaited { name, timeout_at: Some(at), .. } if name == "x" && *at == timeout_at),
        "{:?}",
        history[1]
    );

    env.advance(minutes(4));
    assert!(env.result(&run).is_none(), "the timeout is 5 minutes, not 4");

    env.advance(minutes(1));
    assert_eq!(
        env.result(&run),
        Some(Ok(WaitReport {
            wait: Err(SignalError::TimedOut { name: "x".into() }),
            after: "continued after timeout".into(),
        }))
    );
    let history = env.history(run.id());
    assert_eq!(
        kinds(&history),
        [
            "run_started",
            "signal_awaited",
            "signal_timed_out",
            "activity_scheduled",
            "activity_completed",
            "run_completed"
        ]
    );
    assert_eq!(history[2].event, Event::SignalTimedOut { awaited: history[1].seq });
}

#[workflow]
async fn ends_at_once(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    Ok(n)
}

#[test]
fn signal_to_unknown_run_is_a_typed_error() {
    let mut env = TestEnv::builder().workflow(ends_at_once).build();
    let nobody = RunId::new_random();
    assert_eq!(env.inject_signal(nobody, "x", &1u32), Err(SignalSendError::RunNotFound(nobody)));
    assert!(env.journal().all_runs_for_tests().is_empty());
}

#[test]
fn signal_to_ended_run_is_a_typed_error() {
    let mut env = TestEnv::builder().workflow(ends_at_once).build();
    let run = env.start(ends_at_once, 7);
    assert_eq!(env.result(&run), Some(Ok(7)));
    let before = env.history(run.id());

    assert_eq!(
        env.inject_signal(run.id(), "x", &1u32),
        Err(SignalSendError::RunTerminal { run: run.id(), status: RunStatus::Completed })
    );
    assert_eq!(env.history(run.id()), before, "nothing was journaled for the refused signal");
    assert_eq!(mailbox_len(&env, run.id()), 0);
}

#[workflow]
async fn wants_a_number(ctx: &WorkflowContext, _input: ()) -> Result<Result<u32, SignalError>, WorkflowError> {
    Ok(ctx.signal::<u32>("n").await)
}

#[test]
fn signal_with_wrong_body_type_is_handed_to_the_workflow_as_decode_error() {
    let mut env = TestEnv::builder().workflow(wants_a_number).build();
    let run = env.start(wants_a_number, ());
    env.inject_signal(run.id(), "n", &"not a number").unwrap();

    let out = env.result(&run).expect("the run ended").expect("the run completed rather than failed");
    match out {
        Err(SignalError::Decode { name, error }) => {
            assert_eq!(name, "n");
            assert_eq!(error.direction, "decoding");
            assert_eq!(error.type_name, "u32");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(env.run_info(run.id()).unwrap().status, RunStatus::Completed);
    let history = env.history(run.id());
    assert_eq!(kinds(&history), ["run_started", "signal_awaited", "signal_received", "run_completed"]);
    assert_eq!(
        history[2].event,
        Event::SignalReceived { awaited: history[1].seq, payload: Payload::encode("not a number").unwrap() }
    );
}

#[workflow]
async fn two_waits_with_timeouts(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    ctx.sleep(hours(1)).await;
    let first = ctx.signal::<String>("go").timeout(hours(24)).await?;
    let second = ctx.signal::<String>("late").timeout(hours(24)).await?;
    Ok(format!("{first} {second}"))
}

#[test]
fn a_signal_already_waiting_is_consumed_without_arming_its_timeout() {
    let mut env = TestEnv::builder().workflow(two_waits_with_timeouts).build();
    let run = env.start(two_waits_with_timeouts, ());
    env.inject_signal(run.id(), "go", &"now").unwrap();
    env.advance(hours(1));
    // "go" was answered from the mailbox in the same step that awaited it:
    // only the second wait, which found nothing, has a timeout armed.
    assert_eq!(env.engine().armed_timers(), 1);
    env.inject_signal(run.id(), "late", &"then").unwrap();
    assert_eq!(env.result(&run), Some(Ok("now then".to_string())));
    assert_eq!(env.engine().armed_timers(), 0);
}
