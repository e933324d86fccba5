//! How programs and their schedules are generated (proptest strategies,
//! so a failing batch shrinks to a minimal one).

use proptest::collection::vec;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::program::{SignalName, Step};

/// One generated program and what the driver does to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// The program.
    pub steps: Vec<Step>,
    /// Cancel the run this many milliseconds after it starts.
    pub cancel_at: Option<u16>,
    /// Pauses before each signal the driver sends (cycled).
    pub signal_gaps: Vec<u16>,
    /// Send one more signal of each name than the program waits for
    /// (never consumed).
    pub extra_signal: bool,
}

/// Programs run together on one journal, and when the worker crashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The programs.
    pub cases: Vec<Case>,
    /// Milliseconds after the starts at which the worker process is
    /// crashed (dropped) and replaced by a fresh one.
    pub crashes: Vec<u16>,
}

fn signal_name() -> impl Strategy<Value = SignalName> {
    prop_oneof![Just(SignalName::A), Just(SignalName::B)]
}

/// Steps a join may hold: activities and timers.
fn branch() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..1000u32, 0..3u8).prop_map(|(value, failures)| Step::Activity { value, failures }),
        1 => Just(Step::ActivityFails),
        2 => (1..30u16).prop_map(|ms| Step::Sleep { ms }),
    ]
}

/// Steps any run may take (no signal waits, no continue-as-new: a child's
/// steps are these).
fn plain_step(depth: u32) -> BoxedStrategy<Step> {
    let leaf = prop_oneof![
        6 => (0..1000u32, 0..3u8).prop_map(|(value, failures)| Step::Activity { value, failures }),
        1 => Just(Step::ActivityFails),
        1 => Just(Step::ActivityPanics),
        3 => (1..40u16).prop_map(|ms| Step::Sleep { ms }),
        1 => (0..1000u16).prop_map(|quiet| Step::SignalTimesOut { quiet }),
        2 => (0..1000u32).prop_map(|value| Step::Compensable { value }),
        1 => Just(Step::CompensateAll),
        1 => (0..3u8).prop_map(|id| Step::Patched { id }),
        2 => vec(branch(), 1..4).prop_map(Step::Join),
        1 => (0..1000u32).prop_map(|value| Step::Select { value }),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        12 => leaf,
        1 => vec(plain_step(depth - 1), 0..4).prop_map(|steps| Step::Child { steps }),
        1 => Just(Step::Fail),
    ]
    .boxed()
}

/// Steps a root program may take: any, plus signal waits and
/// continue-as-new.
fn root_step() -> BoxedStrategy<Step> {
    prop_oneof![
        10 => plain_step(2),
        2 => signal_name().prop_map(|name| Step::Signal { name }),
        1 => signal_name().prop_map(|name| Step::SignalWithTimeout { name }),
        1 => Just(Step::ContinueAsNew),
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = Case> {
    (vec(root_step(), 0..8), prop::option::weighted(0.1, 0..400u16), vec(0..60u16, 1..5), prop::bool::weighted(0.2))
        .prop_map(|(steps, cancel_at, signal_gaps, extra_signal)| Case { steps, cancel_at, signal_gaps, extra_signal })
}

/// A batch of `programs` cases with up to two crashes.
pub fn batch(programs: usize) -> impl Strategy<Value = Batch> {
    (vec(case(), 1..=programs.max(1)), vec(0..700u16, 0..3)).prop_map(|(cases, crashes)| Batch { cases, crashes })
}
