//! One step of a live run: deliver everything in its inbox, one
//! resolution per poll (so the history records the order the workflow
//! observed), match waiting signals to open signal waits, and stage what
//! the run asked for — children, a successor — for the next commit.
//!
//! Touches only memory; the commit pipeline journals the result.

use super::Engine;
use super::run::Inbound;
use crate::event::Event;
use crate::ids::RunId;
use crate::outcome::RunOutcome;
use crate::workflow::context::core::{OpenCommand, ResolutionKind};

impl Engine {
    /// Delivers everything the run can take now, one resolution per poll,
    /// so the history records the order the workflow observed; the run is
    /// then staged for the next commit.
    pub(super) fn pump(&mut self, run: RunId) {
        loop {
            self.pump_once(run);
            let continued = self.live.get_mut(&run).and_then(|l| l.continued.take());
            if let Some((next, input)) = continued {
                self.stage_successor(run, next, input);
            }
            let children = match self.live.get_mut(&run) {
                Some(live) => std::mem::take(&mut live.core().new_children),
                None => return,
            };
            if children.is_empty() {
                break;
            }
            let mut refused = false;
            for child in children {
                let seq = child.seq;
                if let Err(outcome) = self.stage_child(run, child) {
                    refused = true;
                    if let Some(live) = self.live.get_mut(&run) {
                        live.inbox.push_back(Inbound::Child(seq, outcome));
                    }
                }
            }
            if !refused {
                break;
            }
        }
        self.mark_dirty(run);
    }

    fn pump_once(&mut self, run: RunId) {
        let now = self.clock.now();
        let Some(live) = self.live.get_mut(&run) else { return };
        while !live.terminal {
            if let Some(inbound) = live.inbox.pop_front() {
                match inbound {
                    Inbound::Task(outcome) => {
                        live.resolved_tasks.push(outcome.seq);
                        if !live.is_open(outcome.seq) {
                            continue;
                        }
                        let compensation =
                            matches!(live.core().open.get(&outcome.seq), Some(OpenCommand::Compensation));
                        let (scheduled, attempts) = (outcome.seq, outcome.attempts);
                        let (event, kind) = match outcome.result {
                            Ok(output) => (
                                if compensation {
                                    Event::CompensationCompleted { scheduled, attempts, output: output.clone() }
                                } else {
                                    Event::ActivityCompleted { scheduled, attempts, output: output.clone() }
                                },
                                ResolutionKind::Activity(Ok(output)),
                            ),
                            Err(error) => (
                                if compensation {
                                    Event::CompensationFailed { scheduled, attempts, error: error.clone() }
                                } else {
                                    Event::ActivityFailed { scheduled, attempts, error: error.clone() }
                                },
                                ResolutionKind::Activity(Err(error)),
                            ),
                        };
                        live.deliver(outcome.seq, event, kind, now);
                    }
                    Inbound::Child(seq, outcome) => {
                        live.resolved_children.push(seq);
                        if !live.is_open(seq) {
                            continue;
                        }
                        let event = match &outcome {
                            RunOutcome::Completed(output) => {
                                Event::ChildCompleted { started: seq, output: output.clone() }
                            }
                            RunOutcome::Failed(failure) => {
                                Event::ChildFailed { started: seq, failure: failure.clone() }
                            }
                            RunOutcome::Cancelled(reason) => {
                                Event::ChildCancelled { started: seq, reason: reason.clone() }
                            }
                        };
                        live.deliver(seq, event, ResolutionKind::Child(outcome), now);
                    }
                    Inbound::TimerFired(seq) => {
                        if live.is_open(seq) {
                            live.deliver(seq, Event::TimerFired { started: seq }, ResolutionKind::TimerFired, now);
                        }
                    }
                    Inbound::SignalTimedOut(seq) => {
                        if live.is_open(seq) {
                            live.deliver(
                                seq,
                                Event::SignalTimedOut { awaited: seq },
                                ResolutionKind::Signal(None),
                                now,
                            );
                        }
                    }
                }
                continue;
            }
            // Oldest open wait first; within a name, oldest signal first.
            let matched = {
                let core = live.core();
                core.open.iter().find_map(|(seq, command)| match command {
                    OpenCommand::Signal { name, .. } => {
                        live.mailbox.iter().position(|s| &s.name == name).map(|i| (*seq, i))
                    }
                    _ => None,
                })
            };
            let Some((seq, index)) = matched else { break };
            let Some(signal) = live.mailbox.remove(index) else { break };
            live.consumed_signals.push(signal.id);
            let payload = signal.payload;
            live.deliver(
                seq,
                Event::SignalReceived { awaited: seq, payload: payload.clone() },
                ResolutionKind::Signal(Some(payload)),
                now,
            );
        }
    }
}
