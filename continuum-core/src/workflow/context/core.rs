//! The state a run's effects share with the engine while the run is live:
//! the replay cursor, the command outbox, delivered resolutions and the
//! wakers of effects waiting on them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::thread::ThreadId;

use chrono::{DateTime, Utc};

use crate::command::NewActivityTask;
use crate::error::{ActivityError, CommandDescription, ReplayDriftError, RunFailure};
use crate::event::{CommandKind, Event, HistoryEvent};
use crate::ids::{RunId, Seq, SiteId, SiteInfo};
use crate::payload::Payload;

/// An answer to a command, delivered by the engine.
#[derive(Debug, Clone)]
pub(crate) struct Resolution {
    /// Seq of the resolution event (for error reports).
    pub(crate) event_seq: Seq,
    pub(crate) kind: ResolutionKind,
}

#[derive(Debug, Clone)]
pub(crate) enum ResolutionKind {
    Activity(Result<Payload, ActivityError>),
    TimerFired,
    Signal(Option<Payload>),
    Child(crate::outcome::RunOutcome),
}

/// A command issued and not yet resolved; the engine re-arms these after a
/// replay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpenCommand {
    Activity,
    Compensation,
    Child,
    Timer { fire_at: DateTime<Utc> },
    Signal { name: String, timeout_at: Option<DateTime<Utc>> },
}

/// Where an effect was called, for humans.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallSite {
    Static(SiteInfo),
    Caller(&'static std::panic::Location<'static>),
}

impl CallSite {
    pub(crate) fn id(self) -> SiteId {
        match self {
            CallSite::Static(s) => s.id,
            CallSite::Caller(_) => SiteId::UNSITED,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            CallSite::Static(s) => format!("`{}` at {}", s.label, s.location()),
            CallSite::Caller(l) => format!("{}:{}:{}", l.file(), l.line(), l.column()),
        }
    }
}

/// What a replayed command event recorded that its effect needs back.
/// (Only this is copied out of the history, never the whole event.)
pub(crate) enum Recorded {
    Nothing,
    FireAt(DateTime<Utc>),
    TimeoutAt(Option<DateTime<Utc>>),
    Value(Payload),
    Child { input: Payload, child: RunId },
}

/// A child run a live command asked for, for the engine to create in the
/// same commit that journals the command.
#[derive(Debug, Clone)]
pub(crate) struct NewChild {
    pub(crate) seq: Seq,
    pub(crate) child: RunId,
    pub(crate) workflow: String,
    pub(crate) input: Payload,
}

thread_local! {
    /// The run whose workflow code this thread is polling, if any.
    static POLLING: std::cell::RefCell<Option<Arc<Mutex<RunCore>>>> = const { std::cell::RefCell::new(None) };
}

/// Marks this thread as polling `core`'s workflow until the guard drops
/// (also on unwind), so [`replaying`] can answer for code that has no
/// `ctx` at hand.
pub(crate) struct PollingGuard(Option<Arc<Mutex<RunCore>>>);

impl PollingGuard {
    pub(crate) fn enter(core: &Arc<Mutex<RunCore>>) -> PollingGuard {
        PollingGuard(POLLING.with(|p| p.replace(Some(core.clone()))))
    }
}

impl Drop for PollingGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        POLLING.with(|p| *p.borrow_mut() = previous);
    }
}

/// Whether the workflow code running on this thread is being replayed
/// (re-executing past what its history records). `false` outside
/// workflow code. The `#[workflow]` and `#[pure]` macros guard `tracing`
/// events with it so a log line appears once per run, not once per replay.
pub fn replaying() -> bool {
    POLLING.with(|p| {
        p.borrow()
            .as_ref()
            .is_some_and(|core| core.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_replaying())
    })
}

/// The id of the current thread, cached: comparing it on every effect poll
/// must not clone the thread handle.
pub(crate) fn current_thread() -> ThreadId {
    thread_local! {
        static ID: ThreadId = std::thread::current().id();
    }
    ID.with(|id| *id)
}

/// The outcome of issuing a command.
pub(crate) enum Issued {
    /// Replayed from history: what the command event recorded.
    Replayed(Seq, Recorded),
    /// New: appended to the outbox.
    Live(Seq),
}

pub(crate) struct RunCore {
    pub(crate) run: RunId,
    pub(crate) workflow: &'static str,
    pub(crate) sites: &'static [SiteInfo],
    /// The largest payload an effect may journal (`EngineConfig`).
    pub(crate) max_payload: usize,
    pub(crate) history: Arc<[HistoryEvent]>,
    /// Next history index to consume (0 is `RunStarted`).
    pub(crate) cursor: usize,
    pub(crate) next_seq: Seq,
    pub(crate) outbox: Vec<HistoryEvent>,
    pub(crate) new_tasks: Vec<NewActivityTask>,
    pub(crate) now: DateTime<Utc>,
    /// The thread inside the engine's poll of this run, if any.
    pub(crate) poller: Option<ThreadId>,
    pub(crate) in_side_effect: bool,
    pub(crate) fatal: Option<RunFailure>,
    resolutions: HashMap<Seq, Resolution>,
    wakers: HashMap<Seq, Waker>,
    abandoned: HashSet<Seq>,
    pub(crate) open: BTreeMap<Seq, OpenCommand>,
    /// Patch decisions taken so far: the first for an id holds for the run.
    patches: HashMap<String, bool>,
    /// Compensations registered by completed activities and not yet run,
    /// oldest first.
    pub(crate) compensations: Vec<PendingCompensation>,
    /// This run's parent, if it is a child.
    pub(crate) parent: Option<crate::event::ParentRef>,
    /// The deepest child allowed (`EngineConfig::max_child_depth`).
    pub(crate) max_child_depth: u32,
    /// Children started live since the last commit.
    pub(crate) new_children: Vec<NewChild>,
    /// Every child this run started (replayed or live).
    pub(crate) children: HashSet<RunId>,
    /// The keys of the children this run started with a key (unique per
    /// run).
    pub(crate) child_keys: HashSet<String>,
    /// Set by `continue_as_new`: the successor's input.
    pub(crate) continue_with: Option<Payload>,
}

/// An undo step a completed activity registered (`compensate_with`).
#[derive(Debug, Clone)]
pub(crate) struct PendingCompensation {
    /// The `ActivityScheduled` seq of the activity it undoes.
    pub(crate) compensates: Seq,
    pub(crate) activity: &'static str,
    pub(crate) input: Payload,
    pub(crate) options: crate::workflow::ActivityOptions,
    pub(crate) key: Option<String>,
}

impl RunCore {
    pub(crate) fn new(
        run: RunId,
        workflow: &'static str,
        sites: &'static [SiteInfo],
        history: Arc<[HistoryEvent]>,
        now: DateTime<Utc>,
    ) -> Self {
        let next_seq = history.last().map_or(1, |e| e.seq + 1);
        let parent = history.first().and_then(|e| match &e.event {
            Event::RunStarted { parent, .. } => *parent,
            _ => None,
        });
        Self {
            run,
            workflow,
            sites,
            max_payload: crate::limits::DEFAULT_MAX_PAYLOAD,
            history,
            cursor: 1,
            next_seq,
            outbox: Vec::new(),
            new_tasks: Vec::new(),
            now,
            poller: None,
            in_side_effect: false,
            fatal: None,
            resolutions: HashMap::new(),
            wakers: HashMap::new(),
            abandoned: HashSet::new(),
            open: BTreeMap::new(),
            patches: HashMap::new(),
            compensations: Vec::new(),
            parent,
            max_child_depth: crate::limits::DEFAULT_MAX_CHILD_DEPTH,
            new_children: Vec::new(),
            children: HashSet::new(),
            child_keys: HashSet::new(),
            continue_with: None,
        }
    }

    pub(crate) fn is_replaying(&self) -> bool {
        self.cursor < self.history.len()
    }

    /// Checks that an effect may run now; records a fatal failure if not.
    pub(crate) fn enter(&mut self) -> bool {
        if self.fatal.is_some() {
            return false;
        }
        if self.poller != Some(current_thread()) {
            self.fatal = Some(RunFailure::SuspendLeak {
                detail: format!(
                    "an effect of run {} was polled outside the engine's poll of the run (from another thread or executor); \
                     workflow code must only await Continuum effects, directly or through deterministic combinators",
                    self.run
                ),
            });
            return false;
        }
        if self.in_side_effect {
            self.fatal = Some(RunFailure::SuspendLeak {
                detail: format!(
                    "run {}: an effect was used inside a `side_effect` closure, which must be plain code",
                    self.run
                ),
            });
            return false;
        }
        true
    }

    fn describe_recorded(&self, kind: CommandKind, name: &str, site: SiteId) -> CommandDescription {
        let location = self.sites.iter().find(|s| s.id == site).map(|s| format!("`{}` at {}", s.label, s.location()));
        CommandDescription { kind, name: name.to_owned(), site, location }
    }

    pub(crate) fn drift(
        &self,
        seq: Seq,
        expected: Option<CommandDescription>,
        found: Option<CommandDescription>,
    ) -> RunFailure {
        self.drift_with(seq, expected, found, None)
    }

    pub(crate) fn drift_with(
        &self,
        seq: Seq,
        expected: Option<CommandDescription>,
        found: Option<CommandDescription>,
        detail: Option<String>,
    ) -> RunFailure {
        RunFailure::Drift {
            drift: Box::new(ReplayDriftError {
                run: self.run,
                workflow: self.workflow.to_owned(),
                seq,
                expected,
                found,
                detail,
            }),
        }
    }

    /// Describes what the history holds at the cursor, if it is a command.
    pub(crate) fn expected_at_cursor(&self) -> Option<(Seq, CommandDescription)> {
        let ev = self.history.get(self.cursor)?;
        let id = ev.event.command()?;
        Some((ev.seq, self.describe_recorded(id.kind, id.name, id.site)))
    }

    /// Issues a command: matched against the history while replaying,
    /// appended to the outbox once past its end.
    pub(crate) fn issue(
        &mut self,
        kind: CommandKind,
        name: &str,
        at: CallSite,
        build: impl FnOnce(&Self) -> Event,
    ) -> Option<Issued> {
        let site = at.id();
        if let Some(recorded) = self.history.get(self.cursor) {
            let found = || CommandDescription { kind, name: name.to_owned(), site, location: Some(at.describe()) };
            let seq = recorded.seq;
            let Some(id) = recorded.event.command() else {
                self.fatal = Some(self.drift(seq, None, Some(found())));
                return None;
            };
            let same_site = id.site == site || id.site.is_unsited() || site.is_unsited();
            if id.kind != kind || id.name != name || !same_site {
                let expected = self.describe_recorded(id.kind, id.name, id.site);
                self.fatal = Some(self.drift(seq, Some(expected), Some(found())));
                return None;
            }
            let data = match &recorded.event {
                Event::TimerStarted { fire_at, .. } => Recorded::FireAt(*fire_at),
                Event::SignalAwaited { timeout_at, .. } => Recorded::TimeoutAt(*timeout_at),
                Event::ValueRecorded { value, .. } => Recorded::Value(value.clone()),
                Event::ChildStarted { input, child, .. } => Recorded::Child { input: input.clone(), child: *child },
                _ => Recorded::Nothing,
            };
            self.cursor += 1;
            return Some(Issued::Replayed(seq, data));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let event = build(self);
        self.outbox.push(HistoryEvent { seq, at: self.now, event });
        Some(Issued::Live(seq))
    }

    /// Decides a patch: `true` (and a marker journaled) for code running
    /// past its history, or replaying a history that has the marker here;
    /// `false`, consuming nothing, for a history recorded before the patch
    /// existed. The first decision for an id holds for the whole run.
    pub(crate) fn patched(&mut self, patch: &str, at: CallSite) -> bool {
        if let Some(&decided) = self.patches.get(patch) {
            return decided;
        }
        let decided = match self.history.get(self.cursor) {
            Some(HistoryEvent { event: Event::PatchMarker { patch: recorded, .. }, .. }) if recorded == patch => {
                self.cursor += 1;
                true
            }
            Some(_) => false,
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let event = Event::PatchMarker { site: at.id(), patch: patch.to_owned() };
                self.outbox.push(HistoryEvent { seq, at: self.now, event });
                true
            }
        };
        self.patches.insert(patch.to_owned(), decided);
        decided
    }

    /// Queues the task of an activity (or compensation) command issued live
    /// at `seq`, for the engine to journal with it.
    pub(crate) fn schedule_task(
        &mut self,
        seq: Seq,
        activity: &str,
        input: Payload,
        options: crate::workflow::ActivityOptions,
        idempotency_key: Option<String>,
    ) {
        self.new_tasks.push(NewActivityTask {
            seq,
            activity: activity.to_owned(),
            input,
            retry: options.retry,
            timeout: options.timeout,
            idempotency_key,
            lease_to_writer: None,
        });
    }

    /// Appends a resolution event (live) and makes it visible to its effect.
    pub(crate) fn push_event(&mut self, event: Event) -> Seq {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outbox.push(HistoryEvent { seq, at: self.now, event });
        seq
    }

    pub(crate) fn deliver(&mut self, command: Seq, resolution: Resolution) {
        self.open.remove(&command);
        if self.abandoned.remove(&command) {
            return;
        }
        self.resolutions.insert(command, resolution);
        if let Some(w) = self.wakers.remove(&command) {
            w.wake();
        }
    }

    pub(crate) fn take_resolution(&mut self, command: Seq, waker: &Waker) -> Option<Resolution> {
        if let Some(r) = self.resolutions.remove(&command) {
            self.wakers.remove(&command);
            return Some(r);
        }
        match self.wakers.get_mut(&command) {
            Some(w) if w.will_wake(waker) => {}
            Some(w) => w.clone_from(waker),
            None => {
                self.wakers.insert(command, waker.clone());
            }
        }
        None
    }

    /// An issued effect was dropped before its resolution was taken.
    pub(crate) fn abandon(&mut self, command: Seq) {
        self.wakers.remove(&command);
        if self.resolutions.remove(&command).is_none() && self.open.contains_key(&command) {
            self.abandoned.insert(command);
        }
    }

    /// Whether any live effect is waiting for a resolution.
    pub(crate) fn has_waiters(&self) -> bool {
        !self.wakers.is_empty()
    }
}
