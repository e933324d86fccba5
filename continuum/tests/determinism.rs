//! Runtime behaviour of what the determinism checker points users to:
//! `continuum::select!` picks the same arm on replay, `tracing` events in
//! workflow code are not repeated by replay, and `#[pure]` helpers run
//! like ordinary functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use continuum::prelude::*;
use continuum_testkit::TestEnv;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[pure]
fn label(n: u8) -> String {
    tracing::info!(n, "labelling");
    format!("#{n}")
}

#[workflow(strict)]
async fn approval(ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
    let verdict = continuum::select! {
        n = ctx.signal::<u8>("approve") => label(n?),
        _ = ctx.sleep(hours(1)) => "timed out".to_string(),
    };
    ctx.sleep(seconds(1)).await;
    Ok(verdict)
}

#[activity]
async fn step(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

#[workflow]
async fn logs(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    tracing::info!("before the activity");
    let n = ctx.activity(step, n).await?;
    tracing::info!(n, "after the activity");
    ctx.sleep(hours(1)).await;
    tracing::info!("after the timer");
    Ok(n)
}

/// Counts events whose message is `message`.
#[derive(Clone)]
struct Count(Arc<AtomicUsize>, &'static str);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        if m.0 == self.1 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn counting(messages: &[&'static str]) -> (Vec<Arc<AtomicUsize>>, impl tracing::Subscriber) {
    let counters: Vec<_> = messages.iter().map(|_| Arc::new(AtomicUsize::new(0))).collect();
    let layers: Vec<_> = messages.iter().zip(&counters).map(|(m, c)| Count(c.clone(), m)).collect();
    (counters, tracing_subscriber::registry().with(layers))
}

#[test]
fn select_takes_the_arm_of_the_future_that_completed_and_replays_it() {
    let mut env = TestEnv::builder().workflow(approval).paranoid(true).build();
    let signalled = env.start(approval, ());
    env.inject_signal(signalled.id(), "approve", &7u8).unwrap();
    let timed_out = env.start(approval, ());
    env.advance(hours(1));
    env.advance(seconds(1));
    assert_eq!(env.result(&signalled).unwrap().unwrap(), "#7");
    assert_eq!(env.result(&timed_out).unwrap().unwrap(), "timed out");
}

#[test]
fn select_prefers_the_first_arm_when_both_are_ready() {
    #[workflow]
    async fn both_ready(_ctx: &WorkflowContext, _input: ()) -> Result<String, WorkflowError> {
        // Both futures are complete before the select polls them.
        let arm = continuum::select! {
            _ = std::future::ready(()) => "first",
            _ = std::future::ready(()) => "second",
        };
        Ok(arm.to_string())
    }
    let mut env = TestEnv::builder().workflow(both_ready).build();
    let run = env.start(both_ready, ());
    assert_eq!(env.result(&run).unwrap().unwrap(), "first");
}

#[test]
fn tracing_events_in_workflow_code_are_not_repeated_by_replay() {
    let (counts, subscriber) = counting(&["before the activity", "after the activity", "after the timer"]);
    tracing::subscriber::with_default(subscriber, || {
        let mut env = TestEnv::builder().workflow(logs).activity(step).build();
        let run = env.start(logs, 1);
        // Parked on the timer. A crash makes the next wake replay the run
        // from its journal: the code before the timer runs again.
        env.crash();
        env.advance(hours(1));
        assert_eq!(env.result(&run).unwrap().unwrap(), 2);
        assert!(env.engine().stats().events_replayed > 0, "the run must have been replayed");
    });
    let seen: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(seen, [1, 1, 1], "each line once per run, none repeated by replay");
}

#[test]
fn pure_helpers_log_normally_outside_workflows() {
    let (counts, subscriber) = counting(&["labelling"]);
    tracing::subscriber::with_default(subscriber, || assert_eq!(label(3), "#3"));
    assert_eq!(counts[0].load(Ordering::SeqCst), 1);
    assert!(!continuum::__private::replaying());
}
