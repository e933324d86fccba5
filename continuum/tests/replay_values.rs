//! `now()`, `uuid4()`, `random()` and `side_effect` return their journaled
//! values on replay: a property test over random interleavings of those
//! effects with activities and timers, crashing the engine at every wait.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use continuum::prelude::*;
use continuum::{Event, Replayed, RunOutcome};
use continuum_testkit::TestEnv;
use proptest::prelude::*;

thread_local! {
    static SIDE_EFFECT_CALLS: Cell<u32> = const { Cell::new(0) };
}

#[derive(Serialize, Deserialize, Clone, Debug)]
enum Op {
    Now,
    Uuid,
    Random,
    SideEffect(u32),
    Activity(u32),
    Sleep,
}

#[activity]
async fn echo(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1000)
}

#[workflow]
async fn values(ctx: &WorkflowContext, ops: Vec<Op>) -> Result<Vec<String>, WorkflowError> {
    let mut seen = Vec::new();
    for op in ops {
        match op {
            Op::Now => seen.push(ctx.now().to_rfc3339()),
            Op::Uuid => seen.push(ctx.uuid4().to_string()),
            Op::Random => seen.push(ctx.random().to_string()),
            Op::SideEffect(n) => seen.push(ctx.side_effect(|| {
                let call = SIDE_EFFECT_CALLS.with(|c| {
                    c.set(c.get() + 1);
                    c.get()
                });
                format!("se-{n}-call-{call}")
            })),
            Op::Activity(n) => seen.push(ctx.activity(echo, n).await?.to_string()),
            Op::Sleep => ctx.sleep(minutes(1)).await,
        }
    }
    Ok(seen)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Now),
        Just(Op::Uuid),
        Just(Op::Random),
        any::<u8>().prop_map(|n| Op::SideEffect(u32::from(n))),
        any::<u8>().prop_map(|n| Op::Activity(u32::from(n))),
        Just(Op::Sleep),
    ]
}

/// What the history recorded for each value-producing op, in order.
fn recorded_values(history: &[continuum::HistoryEvent]) -> Vec<String> {
    history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ValueRecorded { kind, value, .. } => Some(match kind {
                continuum::ValueKind::Now => value.decode::<DateTime<Utc>>().unwrap().to_rfc3339(),
                continuum::ValueKind::Uuid => value.decode::<uuid::Uuid>().unwrap().to_string(),
                continuum::ValueKind::Random => value.decode::<f64>().unwrap().to_string(),
                continuum::ValueKind::SideEffect => value.decode::<String>().unwrap(),
            }),
            Event::ActivityCompleted { output, .. } => Some(output.decode::<u32>().unwrap().to_string()),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn journaled_values_are_returned_on_replay(ops in proptest::collection::vec(op(), 0..24)) {
        SIDE_EFFECT_CALLS.with(|c| c.set(0));
        let side_effects = ops.iter().filter(|o| matches!(o, Op::SideEffect(_))).count() as u32;
        let sleeps = ops.iter().filter(|o| matches!(o, Op::Sleep)).count();
        let mut env = TestEnv::builder().workflow(values).activity(echo).paranoid(true).build();
        let run = env.start(values, ops.clone());
        // Crash at every wait: each step resumes by replaying everything
        // recorded so far.
        for _ in 0..sleeps {
            env.crash();
            env.advance(minutes(1));
        }
        let output = env.result(&run).expect("run ended").expect("run completed");
        let history = env.history(run.id());
        prop_assert_eq!(&output, &recorded_values(&history));
        // The closures ran once per call site, never again on replay.
        prop_assert_eq!(SIDE_EFFECT_CALLS.with(Cell::get), side_effects);
        // An offline replay of the finished history agrees too.
        let replayed = continuum::engine::replay_history(&continuum::ErasedWorkflow::of::<values>(), run.id(), history.into()).unwrap();
        prop_assert_eq!(replayed, Replayed::Ended(RunOutcome::Completed(continuum::Payload::encode(&output).unwrap())));
    }
}
