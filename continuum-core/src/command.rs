//! Commands: what workflow code asks for. Each command is journaled as an
//! event whose kind, name and call site replay checks; an activity (or
//! compensation) command also asks the journal for a task to run it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::Seq;
use crate::payload::Payload;
use crate::retry::RetryPolicy;

/// The effect behind a [`Event::ValueRecorded`](crate::event::Event::ValueRecorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// `ctx.now()` / `ctx.today()`.
    Now,
    /// `ctx.uuid4()`.
    Uuid,
    /// `ctx.random()` and friends.
    Random,
    /// `ctx.side_effect(…)`.
    SideEffect,
}

impl ValueKind {
    /// The name used in drift reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::Now => "now",
            ValueKind::Uuid => "uuid4",
            ValueKind::Random => "random",
            ValueKind::SideEffect => "side_effect",
        }
    }
}

/// The kind of a command, as checked on replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// An activity.
    Activity,
    /// A timer.
    Timer,
    /// A signal wait.
    Signal,
    /// A recorded value.
    Value,
    /// A patch marker.
    Patch,
    /// A compensation.
    Compensation,
    /// A child run.
    Child,
}

impl std::fmt::Display for CommandKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CommandKind::Activity => "activity",
            CommandKind::Timer => "timer",
            CommandKind::Signal => "signal",
            CommandKind::Value => "value",
            CommandKind::Patch => "patch",
            CommandKind::Compensation => "compensation",
            CommandKind::Child => "child",
        })
    }
}

/// An activity task to create with its `ActivityScheduled` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActivityTask {
    /// Seq of the `ActivityScheduled` event.
    pub seq: Seq,
    /// Registered activity name.
    pub activity: String,
    /// Encoded input.
    pub input: Payload,
    /// Retry policy in force for this call.
    pub retry: RetryPolicy,
    /// Per-attempt timeout.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Idempotency key: a result stored under `(activity, key)` is reused.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// `Some(ttl)`: insert the task already leased to the writer for its
    /// first attempt (the writer runs it itself, no claim needed), and
    /// report the lease's token in [`Written::leased_tasks`](crate::journal::Written::leased_tasks). A journal may
    /// decline and insert the task ready for any worker instead; the writer
    /// then simply gets no token for it.
    #[serde(skip)]
    pub lease_to_writer: Option<Duration>,
}
