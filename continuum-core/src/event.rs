//! The event model: a run's history is an append-only sequence of these.
//!
//! Events are either *commands* (the workflow asked for an effect: an
//! activity scheduled, a timer started, a signal awaited, a value recorded)
//! or *resolutions* (the outside world answered a command: an activity
//! completed, a timer fired, a signal received), plus the run's first and
//! terminal events. Replay matches commands against what the code asks for,
//! in order, and feeds resolutions back in the order they were recorded, so
//! a `select` between two effects picks the same winner every time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ActivityError, RunFailure};
use crate::ids::{RunId, Seq, SiteId, VersionHash};
use crate::payload::Payload;
use crate::status::RunStatus;

pub use crate::command::{CommandKind, ValueKind};

/// One entry of a run's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Position in the history, from 1.
    pub seq: Seq,
    /// When the engine recorded it (the journal's clock).
    pub at: DateTime<Utc>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The run began.
    RunStarted {
        /// Registered workflow name.
        workflow: String,
        /// The workflow code's version hash at start.
        version: VersionHash,
        /// The encoded input.
        input: Payload,
        /// For a child run: its parent and the command that started it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentRef>,
        /// For a run started by `continue_as_new`: the run it continues.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        continued_from: Option<RunId>,
        /// When the run's chain must have ended (its execution timeout,
        /// counted from the chain's first start; a successor carries its
        /// predecessor's): past it, the run fails with
        /// [`RunFailure::ExecutionTimedOut`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deadline: Option<DateTime<Utc>>,
    },
    /// Command: an activity was scheduled.
    ActivityScheduled {
        /// Call site.
        site: SiteId,
        /// Registered activity name.
        activity: String,
        /// The encoded input.
        input: Payload,
    },
    /// Resolution: the activity returned a value.
    ActivityCompleted {
        /// The `ActivityScheduled` event this resolves.
        scheduled: Seq,
        /// Attempts it took, counting the successful one.
        attempts: u32,
        /// The encoded output.
        output: Payload,
    },
    /// Resolution: the activity failed for good (retries exhausted or a
    /// non-retryable error); the workflow receives the error as a value.
    ActivityFailed {
        /// The `ActivityScheduled` event this resolves.
        scheduled: Seq,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: ActivityError,
    },
    /// Command: a durable timer was started.
    TimerStarted {
        /// Call site.
        site: SiteId,
        /// When it fires.
        fire_at: DateTime<Utc>,
    },
    /// Resolution: the timer fired.
    TimerFired {
        /// The `TimerStarted` event this resolves.
        started: Seq,
    },
    /// Command: the workflow waits for a signal.
    SignalAwaited {
        /// Call site.
        site: SiteId,
        /// Signal name.
        name: String,
        /// When the wait gives up, if it has a timeout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_at: Option<DateTime<Utc>>,
    },
    /// Resolution: a signal from the mailbox was consumed by the wait.
    SignalReceived {
        /// The `SignalAwaited` event this resolves.
        awaited: Seq,
        /// The encoded body.
        payload: Payload,
    },
    /// Resolution: the wait's timeout passed first.
    SignalTimedOut {
        /// The `SignalAwaited` event this resolves.
        awaited: Seq,
    },
    /// Command and resolution at once: a value the workflow read from the
    /// outside world (`now`, `uuid4`, `random`, `side_effect`), recorded so
    /// replay returns the same value.
    ValueRecorded {
        /// Call site.
        site: SiteId,
        /// Which effect produced it.
        kind: ValueKind,
        /// The encoded value.
        value: Payload,
    },
    /// Command: a child run was started. Its id is derived from this
    /// run, the call site and the key (or this event's seq), so replay
    /// never starts a second child.
    ChildStarted {
        /// Call site.
        site: SiteId,
        /// The child's registered workflow name.
        workflow: String,
        /// The child's encoded input.
        input: Payload,
        /// The child run.
        child: RunId,
        /// The caller's key, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Resolution: the child completed with this output.
    ChildCompleted {
        /// The `ChildStarted` event this resolves.
        started: Seq,
        /// The child's encoded output.
        output: Payload,
    },
    /// Resolution: the child failed (its workflow returned an error,
    /// panicked, drifted — or it could not be started).
    ChildFailed {
        /// The `ChildStarted` event this resolves.
        started: Seq,
        /// Why.
        failure: RunFailure,
    },
    /// Resolution: the child was cancelled.
    ChildCancelled {
        /// The `ChildStarted` event this resolves.
        started: Seq,
        /// The canceller's reason, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Command: a compensation (saga undo step) was scheduled: an activity
    /// run to undo the activity `compensates` scheduled.
    CompensationScheduled {
        /// Call site (`ctx.compensate` or `ctx.compensate_all`).
        site: SiteId,
        /// Registered name of the compensating activity.
        activity: String,
        /// Its encoded input.
        input: Payload,
        /// The `ActivityScheduled` event of the activity it undoes.
        compensates: Seq,
    },
    /// Resolution: the compensation returned a value.
    CompensationCompleted {
        /// The `CompensationScheduled` event this resolves.
        scheduled: Seq,
        /// Attempts it took.
        attempts: u32,
        /// The encoded output.
        output: Payload,
    },
    /// Resolution: the compensation failed for good. Journaled; the run
    /// goes on.
    CompensationFailed {
        /// The `CompensationScheduled` event this resolves.
        scheduled: Seq,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: ActivityError,
    },
    /// Command: the run took the new branch of a patch
    /// ([`WorkflowContext::patched`](crate::WorkflowContext::patched)).
    /// Histories recorded before the patch existed have no marker, and
    /// replaying them takes the old branch.
    PatchMarker {
        /// Call site of the first check.
        site: SiteId,
        /// The patch id.
        patch: String,
    },
    /// Terminal: the run continued as a new run with an empty history
    /// (`ctx.continue_as_new`). Signals, cancel and awaits on this run
    /// follow the chain to the live run.
    RunContinuedAsNew {
        /// The successor's encoded input.
        input: Payload,
        /// The successor run.
        next: RunId,
    },
    /// Terminal: the workflow returned `Ok`.
    RunCompleted {
        /// The encoded output.
        output: Payload,
    },
    /// Terminal: the workflow returned `Err`, panicked, drifted, or its
    /// history could not be read.
    RunFailed {
        /// Why.
        failure: RunFailure,
    },
    /// Terminal: the run was cancelled.
    RunCancelled {
        /// Reason given by the canceller, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// A child run's parent: the run and the `ChildStarted` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParentRef {
    /// The parent run.
    pub run: RunId,
    /// Seq of the parent's `ChildStarted` event.
    pub command: Seq,
    /// How deep the child is: 1 for a child of a top-level run.
    pub depth: u32,
}

/// What replay compares: a command's kind, name and site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandIdentity<'a> {
    /// The command's kind.
    pub kind: CommandKind,
    /// Activity name, signal name, value kind; empty for timers.
    pub name: &'a str,
    /// Call site.
    pub site: SiteId,
}

impl Event {
    /// The command identity, for command events.
    pub fn command(&self) -> Option<CommandIdentity<'_>> {
        match self {
            Event::ActivityScheduled { site, activity, .. } => {
                Some(CommandIdentity { kind: CommandKind::Activity, name: activity, site: *site })
            }
            Event::TimerStarted { site, .. } => {
                Some(CommandIdentity { kind: CommandKind::Timer, name: "", site: *site })
            }
            Event::SignalAwaited { site, name, .. } => {
                Some(CommandIdentity { kind: CommandKind::Signal, name, site: *site })
            }
            Event::ValueRecorded { site, kind, .. } => {
                Some(CommandIdentity { kind: CommandKind::Value, name: kind.as_str(), site: *site })
            }
            Event::ChildStarted { site, workflow, .. } => {
                Some(CommandIdentity { kind: CommandKind::Child, name: workflow, site: *site })
            }
            Event::CompensationScheduled { site, activity, .. } => {
                Some(CommandIdentity { kind: CommandKind::Compensation, name: activity, site: *site })
            }
            Event::PatchMarker { site, patch } => {
                Some(CommandIdentity { kind: CommandKind::Patch, name: patch, site: *site })
            }
            _ => None,
        }
    }

    /// The command a resolution event answers.
    pub fn resolves(&self) -> Option<Seq> {
        match self {
            Event::ActivityCompleted { scheduled, .. }
            | Event::ActivityFailed { scheduled, .. }
            | Event::CompensationCompleted { scheduled, .. }
            | Event::CompensationFailed { scheduled, .. } => Some(*scheduled),
            Event::ChildCompleted { started, .. }
            | Event::ChildFailed { started, .. }
            | Event::ChildCancelled { started, .. } => Some(*started),
            Event::TimerFired { started } => Some(*started),
            Event::SignalReceived { awaited, .. } | Event::SignalTimedOut { awaited } => Some(*awaited),
            _ => None,
        }
    }

    /// Whether the event ends the run.
    pub fn is_terminal(&self) -> bool {
        self.terminal_status().is_some()
    }

    /// The status a run has once this event is in its history: `Some` for
    /// the terminal events, `None` for the rest.
    pub fn terminal_status(&self) -> Option<RunStatus> {
        match self {
            Event::RunCompleted { .. } => Some(RunStatus::Completed),
            Event::RunFailed { .. } => Some(RunStatus::Failed),
            Event::RunCancelled { .. } => Some(RunStatus::Cancelled),
            Event::RunContinuedAsNew { .. } => Some(RunStatus::Continued),
            _ => None,
        }
    }

    /// The snake_case name of the event type, as in golden files.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::ActivityScheduled { .. } => "activity_scheduled",
            Event::ActivityCompleted { .. } => "activity_completed",
            Event::ActivityFailed { .. } => "activity_failed",
            Event::TimerStarted { .. } => "timer_started",
            Event::TimerFired { .. } => "timer_fired",
            Event::SignalAwaited { .. } => "signal_awaited",
            Event::SignalReceived { .. } => "signal_received",
            Event::SignalTimedOut { .. } => "signal_timed_out",
            Event::ValueRecorded { .. } => "value_recorded",
            Event::PatchMarker { .. } => "patch_marker",
            Event::ChildStarted { .. } => "child_started",
            Event::ChildCompleted { .. } => "child_completed",
            Event::ChildFailed { .. } => "child_failed",
            Event::ChildCancelled { .. } => "child_cancelled",
            Event::RunContinuedAsNew { .. } => "run_continued_as_new",
            Event::CompensationScheduled { .. } => "compensation_scheduled",
            Event::CompensationCompleted { .. } => "compensation_completed",
            Event::CompensationFailed { .. } => "compensation_failed",
            Event::RunCompleted { .. } => "run_completed",
            Event::RunFailed { .. } => "run_failed",
            Event::RunCancelled { .. } => "run_cancelled",
        }
    }
}
