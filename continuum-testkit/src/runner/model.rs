//! The reference model: what a program must produce, from the program
//! alone — its trace (or its failure), the commands its runs journal, and
//! the signals it waits for — written without the engine, so the engine is
//! checked against an independent statement of the semantics.

use std::collections::BTreeMap;

use super::program::{Obs, SignalName, Step};

/// How a program must end, if nothing cancels it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// It returns this trace.
    Completed(Vec<Obs>),
    /// It fails with the planned failure.
    Failed,
}

/// The model of one program's chain of runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// How it ends.
    pub end: Expected,
    /// The commands its chain journals, in order: (kind, name) as replay
    /// compares them (children's own commands are in their histories).
    pub commands: Vec<(String, String)>,
    /// The signal waits of its chain, in order (the driver sends one
    /// signal per wait, in this order per name).
    pub waits: Vec<SignalName>,
}

/// Runs the model over a root program.
pub fn model(steps: &[Step]) -> Model {
    let mut m = Model { end: Expected::Completed(Vec::new()), commands: Vec::new(), waits: Vec::new() };
    let mut counts: BTreeMap<SignalName, u32> = BTreeMap::new();
    m.end = run(steps, &mut m.commands, &mut m.waits, &mut counts);
    m
}

/// The end of a child's program (its commands are not the parent's).
fn child_end(steps: &[Step]) -> Expected {
    let (mut commands, mut waits, mut counts) = (Vec::new(), Vec::new(), BTreeMap::new());
    run(steps, &mut commands, &mut waits, &mut counts)
}

fn command(commands: &mut Vec<(String, String)>, kind: &str, name: &str) {
    commands.push((kind.to_owned(), name.to_owned()));
}

fn run(
    steps: &[Step],
    commands: &mut Vec<(String, String)>,
    waits: &mut Vec<SignalName>,
    counts: &mut BTreeMap<SignalName, u32>,
) -> Expected {
    let mut trace = Vec::new();
    // Compensations registered in the current run, and the patches it
    // decided (a successor starts with none of either).
    let mut pending = 0usize;
    let mut patches: Vec<u8> = Vec::new();
    for step in steps {
        let obs = match step {
            Step::Activity { value, .. } => {
                command(commands, "activity", "work");
                Obs::Value(*value)
            }
            Step::ActivityFails => {
                command(commands, "activity", "work");
                Obs::Failed("failed".into())
            }
            Step::ActivityPanics => {
                command(commands, "activity", "work");
                Obs::Failed("panicked".into())
            }
            Step::Sleep { .. } => {
                command(commands, "timer", "");
                Obs::Slept
            }
            Step::Signal { name } | Step::SignalWithTimeout { name } => {
                command(commands, "signal", name.as_str());
                waits.push(*name);
                let index = counts.entry(*name).or_insert(0);
                let value = name.value(*index);
                *index += 1;
                Obs::Signal(value)
            }
            Step::SignalTimesOut { quiet } => {
                command(commands, "signal", &format!("quiet-{quiet}"));
                Obs::TimedOut
            }
            Step::Child { steps } => {
                command(commands, "child", "program");
                Obs::Child(match child_end(steps) {
                    Expected::Completed(trace) => Ok(trace),
                    Expected::Failed => Err("failed".into()),
                })
            }
            Step::ContinueAsNew => {
                pending = 0;
                patches.clear();
                continue;
            }
            Step::Compensable { value } => {
                command(commands, "activity", "work");
                pending += 1;
                Obs::Value(*value)
            }
            Step::CompensateAll => {
                for _ in 0..pending {
                    command(commands, "compensation", "undo");
                }
                let ran = std::mem::take(&mut pending);
                Obs::Compensated(ran, 0)
            }
            Step::Patched { id } => {
                // The first decision for an id holds; only it is journaled.
                if !patches.contains(id) {
                    patches.push(*id);
                    command(commands, "patch", &format!("p{id}"));
                }
                Obs::Patched(true)
            }
            Step::Join(branches) => {
                let mut joined = Vec::new();
                for b in branches {
                    match b {
                        Step::Sleep { .. } => {
                            command(commands, "timer", "");
                            joined.push(Obs::Slept);
                        }
                        Step::Activity { value, .. } | Step::Compensable { value } | Step::Select { value } => {
                            command(commands, "activity", "work");
                            joined.push(Obs::Value(*value));
                        }
                        Step::ActivityFails => {
                            command(commands, "activity", "work");
                            joined.push(Obs::Failed("failed".into()));
                        }
                        Step::ActivityPanics => {
                            command(commands, "activity", "work");
                            joined.push(Obs::Failed("panicked".into()));
                        }
                        // The generator puts only activities and timers in
                        // a join; the interpreter runs anything else as an
                        // activity.
                        _ => {
                            command(commands, "activity", "work");
                            joined.push(Obs::Value(0));
                        }
                    }
                }
                Obs::Joined(joined)
            }
            Step::Select { value } => {
                command(commands, "activity", "work");
                command(commands, "timer", "");
                Obs::Selected(*value)
            }
            Step::Fail => return Expected::Failed,
        };
        trace.push(obs);
    }
    Expected::Completed(trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_numbered_per_name_across_continuations() {
        let steps = vec![
            Step::Signal { name: SignalName::A },
            Step::ContinueAsNew,
            Step::SignalWithTimeout { name: SignalName::B },
            Step::Signal { name: SignalName::A },
        ];
        let m = model(&steps);
        assert_eq!(m.end, Expected::Completed(vec![Obs::Signal(1000), Obs::Signal(2000), Obs::Signal(1001)]));
        assert_eq!(m.waits, [SignalName::A, SignalName::B, SignalName::A]);
    }

    #[test]
    fn compensations_do_not_cross_a_continuation() {
        let steps = vec![
            Step::Compensable { value: 1 },
            Step::ContinueAsNew,
            Step::Compensable { value: 2 },
            Step::CompensateAll,
        ];
        assert_eq!(model(&steps).end, Expected::Completed(vec![Obs::Value(1), Obs::Value(2), Obs::Compensated(1, 0)]));
    }

    #[test]
    fn a_failing_child_is_an_observation_and_a_fail_step_ends_the_run() {
        let steps = vec![Step::Child { steps: vec![Step::Fail] }, Step::Fail, Step::Sleep { ms: 1 }];
        let m = model(&steps);
        assert_eq!(m.end, Expected::Failed);
        assert_eq!(m.commands, [("child".to_owned(), "program".to_owned())]);
    }
}
