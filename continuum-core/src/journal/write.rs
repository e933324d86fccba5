//! What a commit carries: one [`RunWrite`] per run — a new run with its
//! first events, or events and their side effects appended to an existing
//! run under its lease — and what an applied write produced.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Lease, RunStatus};
use crate::command::NewActivityTask;
use crate::error::JournalError;
use crate::event::HistoryEvent;
use crate::ids::{RunId, Seq, VersionHash};
use crate::outcome::RunOutcome;
use crate::payload::Payload;

/// A run to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The run.
    pub id: RunId,
    /// Caller-chosen workflow id.
    pub workflow_id: String,
    /// Registered workflow name.
    pub workflow: String,
    /// Version hash.
    pub version: VersionHash,
    /// Encoded input.
    pub input: Payload,
}

impl NewRun {
    /// The write that creates this run with its `RunStarted` event (at
    /// `at`), as [`Journal::create_run`](super::Journal::create_run) does.
    pub fn into_write(self, at: DateTime<Utc>) -> RunWrite {
        let started = HistoryEvent {
            seq: 1,
            at,
            event: crate::event::Event::RunStarted {
                workflow: self.workflow,
                version: self.version,
                input: self.input,
                parent: None,
                continued_from: None,
                deadline: None,
            },
        };
        RunWrite {
            create: Some(CreateRun::new(self.workflow_id)),
            append: RunAppend::events(Lease { run: self.id, token: 0 }, vec![started]),
        }
    }
}

/// Events and side effects to commit to one run, atomically.
#[derive(Debug, Clone)]
pub struct RunAppend {
    /// The writer's lease.
    pub lease: Lease,
    /// Events, contiguous, starting right after the run's last event.
    pub events: Vec<HistoryEvent>,
    /// Activity tasks created by `ActivityScheduled` events in `events`.
    pub new_tasks: Vec<NewActivityTask>,
    /// Activity tasks whose outcome is journaled by `events`.
    pub resolved_tasks: Vec<Seq>,
    /// Mailbox signals consumed by `SignalReceived` events in `events`.
    pub consumed_signals: Vec<u64>,
    /// Child outcomes waiting for this run (by `ChildStarted` seq) that
    /// `events` journal.
    pub resolved_children: Vec<Seq>,
    /// For a child run whose `events` end it: the outcome to leave for its
    /// parent, in the same atomic step (the parent is told to look).
    pub child_report: Option<ChildReport>,
}

/// A child run's end, waiting for its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildReport {
    /// The parent run.
    pub parent: RunId,
    /// Seq of the parent's `ChildStarted` event.
    pub command: Seq,
    /// How the child ended.
    pub outcome: RunOutcome,
}

impl RunAppend {
    /// Checks that `events` follow each other from seq `next` (the
    /// history's end plus one) without a gap.
    pub fn check_seqs(&self, next: Seq) -> Result<(), JournalError> {
        for (i, ev) in self.events.iter().enumerate() {
            let want = next + i as u64;
            if ev.seq != want {
                return Err(JournalError::SeqConflict { run: self.lease.run, expected: ev.seq, actual: want });
            }
        }
        Ok(())
    }

    /// The status the run has once `events` are in its history: the last
    /// terminal event's, if any.
    pub fn ends_as(&self) -> Option<RunStatus> {
        self.events.iter().rev().find_map(|e| e.event.terminal_status())
    }

    /// An append of `events` under `lease`, with no side effects.
    pub fn events(lease: Lease, events: Vec<HistoryEvent>) -> Self {
        Self {
            lease,
            events,
            new_tasks: Vec::new(),
            resolved_tasks: Vec::new(),
            consumed_signals: Vec::new(),
            resolved_children: Vec::new(),
            child_report: None,
        }
    }
}

/// An activity output kept under `(activity, key)`, so a later task with
/// the same activity and idempotency key reuses it instead of running.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    /// Registered activity name.
    pub activity: String,
    /// The idempotency key.
    pub key: String,
    /// The output.
    pub output: Payload,
}

/// One run's share of a [`Journal::commit`](super::Journal::commit): a new run with its first
/// events, or events and side effects appended to an existing run.
#[derive(Debug, Clone)]
pub struct RunWrite {
    /// `Some` for a run that does not exist yet: it is inserted already
    /// leased to the writer, `append.events` begins with its `RunStarted`
    /// event (seq 1), and `append.lease.token` is ignored (the journal
    /// assigns one and returns it).
    pub create: Option<CreateRun>,
    /// The events and their side effects, checked against the lease and
    /// the history's end like [`Journal::append`](super::Journal::append).
    pub append: RunAppend,
}

impl RunWrite {
    /// For a new run that continues another (`continue_as_new`): the run
    /// it continues, as its `RunStarted` event names it.
    pub fn continues(&self) -> Option<RunId> {
        self.create.as_ref()?;
        match self.append.events.first().map(|e| &e.event) {
            Some(crate::event::Event::RunStarted { continued_from, .. }) => *continued_from,
            _ => None,
        }
    }
}

/// What identifies a new run besides its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRun {
    /// The workflow id. A new chain claims it: it must not be held by a
    /// chain that has not ended, and an ended chain's id is taken over only
    /// as `reuse` allows. A successor (its `RunStarted` names the run it
    /// continues) carries its chain's id, claims nothing, and takes the
    /// predecessor's undelivered signals and running children.
    pub workflow_id: String,
    /// When an id an ended chain held may be taken over.
    pub reuse: IdReuse,
}

impl CreateRun {
    /// A create that claims `workflow_id` under the default policy.
    pub fn new(workflow_id: impl Into<String>) -> Self {
        Self { workflow_id: workflow_id.into(), reuse: IdReuse::default() }
    }
}

/// When a workflow id held by a chain that has ended may be used by a new
/// start. While a chain has not ended its id is never reused (a start gets
/// `DuplicateWorkflowId`, or attaches, or terminates the chain — the
/// caller's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdReuse {
    /// Once the chain holding it has ended, however it ended.
    #[default]
    AllowAfterEnd,
    /// Once the chain holding it has failed or been cancelled — not after
    /// it completed.
    AllowAfterFailure,
    /// Never: the id names one chain forever.
    Never,
}

impl IdReuse {
    /// Whether a chain that ended as `status` lets a new start take its id.
    pub fn allows(self, status: RunStatus) -> bool {
        match self {
            IdReuse::AllowAfterEnd => status.is_terminal() && status != RunStatus::Continued,
            IdReuse::AllowAfterFailure => matches!(status, RunStatus::Failed | RunStatus::Cancelled),
            IdReuse::Never => false,
        }
    }

    /// The name stored in journals.
    pub fn as_str(self) -> &'static str {
        match self {
            IdReuse::AllowAfterEnd => "allow_after_end",
            IdReuse::AllowAfterFailure => "allow_after_failure",
            IdReuse::Never => "never",
        }
    }
}

/// What a [`RunWrite`] that was applied produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The run's lease: for a new run, the token the journal assigned.
    pub lease: Lease,
    /// Tasks inserted leased to the writer (see
    /// [`NewActivityTask::lease_to_writer`]), as `(seq, token)`.
    pub leased_tasks: Vec<(Seq, u64)>,
}
