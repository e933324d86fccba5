//! One live run: its future kept in memory between wakes, and the replay
//! that rebuilds it from history after a crash or an eviction.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::error::{CommandDescription, RunFailure};
use crate::event::{Event, HistoryEvent};
use crate::ids::{RunId, Seq};
use crate::journal::{Lease, MailboxSignal, TaskOutcome};
use crate::limits::Limits;
use crate::outcome::RunOutcome;
use crate::payload::Payload;
use crate::workflow::ErasedWorkflow;
use crate::workflow::context::core::{Resolution, ResolutionKind, RunCore};
use crate::workflow::context::{EngineAbort, WorkflowContext};

/// An answer from outside waiting to be delivered to a live run.
#[derive(Debug, Clone)]
pub(crate) enum Inbound {
    /// A finished task.
    Task(TaskOutcome),
    /// A child run ended: the `ChildStarted` seq and how.
    Child(Seq, crate::outcome::RunOutcome),
    TimerFired(Seq),
    SignalTimedOut(Seq),
}

/// Counts wakes; the engine polls after every delivery regardless, so the
/// waker only has to be valid (combinators like `FuturesUnordered` rely on
/// the per-effect wakers, which the run core wakes on delivery).
struct RunWaker {
    woken: AtomicBool,
}

impl Wake for RunWaker {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::Relaxed);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Relaxed);
    }
}

pub(crate) struct LiveRun {
    pub(crate) run: RunId,
    pub(crate) workflow: ErasedWorkflow,
    pub(crate) core: Arc<Mutex<RunCore>>,
    future: Option<BoxFuture<'static, Result<Payload, RunFailure>>>,
    waker: Waker,
    pub(crate) lease: Lease,
    pub(crate) inbox: VecDeque<Inbound>,
    pub(crate) mailbox: VecDeque<MailboxSignal>,
    /// Ids of every signal this live run has taken into its mailbox: a
    /// signal can reach the engine twice (its own send path and a journal
    /// read), and must be consumed once.
    pub(crate) signals_seen: std::collections::BTreeSet<u64>,
    pub(crate) resolved_tasks: Vec<Seq>,
    pub(crate) consumed_signals: Vec<u64>,
    /// Child outcomes journaled since the last commit (by command seq).
    pub(crate) resolved_children: Vec<Seq>,
    /// Final results of this process's attempts delivered since the last
    /// commit: kept until the commit confirms them, so a failed commit
    /// can record them on their tasks instead.
    pub(crate) attempts: Vec<(crate::journal::ActivityTask, crate::journal::AttemptResult)>,
    /// The run's workflow id (shared by its `continue_as_new` chain).
    pub(crate) workflow_id: String,
    /// The workflow id of a run not yet in the journal: the next commit
    /// creates it.
    pub(crate) pending_create: Option<crate::journal::CreateRun>,
    /// Staged for the next commit.
    pub(crate) dirty: bool,
    /// Set when the run continued as new (live): the successor's id and
    /// input, for the engine to create in the same commit.
    pub(crate) continued: Option<(RunId, Payload)>,
    /// Set once the run has produced its terminal event.
    pub(crate) terminal: bool,
    /// When the run's chain must have ended (from its `RunStarted`).
    pub(crate) deadline: Option<DateTime<Utc>>,
    pub(crate) last_active: u64,
}

/// How a poll ended.
enum Polled {
    Pending,
    Done(Result<Payload, RunFailure>),
    /// The workflow asked to continue as new with this input.
    Continue(Payload),
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

impl LiveRun {
    /// Builds the run's future from its history. The history must start
    /// with `RunStarted`. Returns the run even when its input does not
    /// decode; `failed_at_start` then carries the failure.
    pub(crate) fn new(
        workflow: ErasedWorkflow,
        run: RunId,
        history: Arc<[HistoryEvent]>,
        lease: Lease,
        now: DateTime<Utc>,
        limits: Limits,
    ) -> (Self, Option<RunFailure>) {
        let deadline = match history.first().map(|e| &e.event) {
            Some(Event::RunStarted { deadline, .. }) => *deadline,
            _ => None,
        };
        let start = match history.first().map(|e| (&e.event, e.seq)) {
            Some((Event::RunStarted { input, .. }, seq)) => Ok((input.clone(), seq)),
            _ => {
                Err(RunFailure::SuspendLeak { detail: format!("history of run {run} does not begin with run_started") })
            }
        };
        let mut core = RunCore::new(run, workflow.name, workflow.sites, history, now);
        core.max_payload = limits.max_payload;
        core.max_child_depth = limits.max_child_depth;
        let core = Arc::new(Mutex::new(core));
        let ctx = WorkflowContext::new(core.clone(), run, workflow.name);
        let (future, failure) = match start {
            Ok((input, seq)) => match workflow.start(ctx, &input) {
                Ok(f) => (Some(f), None),
                Err(error) => (None, Some(RunFailure::HistoryDecode { run, seq, error })),
            },
            Err(failure) => (None, Some(failure)),
        };
        let live = Self {
            run,
            workflow,
            core,
            future,
            waker: Waker::from(Arc::new(RunWaker { woken: AtomicBool::new(false) })),
            lease,
            inbox: VecDeque::new(),
            mailbox: VecDeque::new(),
            signals_seen: std::collections::BTreeSet::new(),
            resolved_tasks: Vec::new(),
            consumed_signals: Vec::new(),
            resolved_children: Vec::new(),
            attempts: Vec::new(),
            workflow_id: String::new(),
            pending_create: None,
            dirty: false,
            continued: None,
            terminal: false,
            deadline,
            last_active: 0,
        };
        (live, failure)
    }

    pub(crate) fn core(&self) -> MutexGuard<'_, RunCore> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn poll(&mut self, now: DateTime<Utc>) -> Polled {
        let Some(future) = self.future.as_mut() else {
            return Polled::Done(Err(RunFailure::SuspendLeak { detail: "run has no future".into() }));
        };
        {
            let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
            core.now = now;
            core.poller = Some(crate::workflow::context::core::current_thread());
        }
        let mut cx = Context::from_waker(&self.waker);
        let result = {
            let _polling = crate::workflow::context::core::PollingGuard::enter(&self.core);
            std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        let mut core = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        core.poller = None;
        if let Some(failure) = core.fatal.clone() {
            return Polled::Done(Err(failure));
        }
        match result {
            Ok(Poll::Ready(out)) => Polled::Done(out),
            Ok(Poll::Pending) => {
                if let Some(input) = core.continue_with.take() {
                    return Polled::Continue(input);
                }
                if !core.has_waiters() && !core.is_replaying() {
                    return Polled::Done(Err(RunFailure::SuspendLeak {
                        detail: "the workflow is waiting on a future that is not a Continuum effect \
                                 (a channel, a tokio timer, a foreign future); nothing could ever wake it \
                                 deterministically — use ctx.sleep, ctx.signal or an activity"
                            .into(),
                    }));
                }
                Polled::Pending
            }
            Err(payload) => {
                if payload.is::<EngineAbort>() {
                    Polled::Done(Err(RunFailure::SuspendLeak {
                        detail: "the engine stopped the run without a recorded cause".into(),
                    }))
                } else {
                    Polled::Done(Err(RunFailure::Panicked { message: panic_message(payload.as_ref()) }))
                }
            }
        }
    }

    /// Ends the run with `result`: pushes its terminal event.
    fn finish(&mut self, result: Result<Payload, RunFailure>) -> Event {
        self.future = None;
        self.terminal = true;
        let max = self.core().max_payload;
        let event = match result {
            Ok(output) if output.len() > max => {
                Event::RunFailed { failure: RunFailure::OutputTooLarge { bytes: output.len(), max } }
            }
            Ok(output) => Event::RunCompleted { output },
            Err(failure) => Event::RunFailed { failure: failure.bounded() },
        };
        self.core().push_event(event.clone());
        event
    }

    /// Ends the run as continued: its successor (a fresh run of the same
    /// workflow, empty history) starts with `input`.
    fn finish_continued(&mut self, input: Payload) -> Event {
        if let Err(failure) = self.check_continue_input(&input) {
            return self.finish(Err(failure));
        }
        self.future = None;
        self.terminal = true;
        let next = RunId::new_random();
        self.continued = Some((next, input.clone()));
        let event = Event::RunContinuedAsNew { input, next };
        self.core().push_event(event.clone());
        event
    }

    /// A successor's input must be the workflow's input type.
    fn check_continue_input(&self, input: &Payload) -> Result<(), RunFailure> {
        self.workflow.check_input(input).map_err(|error| RunFailure::Error {
            message: format!("continue_as_new input is not the workflow's input type: {error}"),
        })
    }

    /// Ends the run with a failure found before or during replay.
    pub(crate) fn fail(&mut self, failure: RunFailure) -> Event {
        self.finish(Err(failure))
    }

    /// Replays the recorded history. Returns the terminal event if the run
    /// ended (code returned, or code and history disagree).
    pub(crate) fn replay(&mut self, now: DateTime<Utc>) -> Option<Event> {
        // One handle on the history for the whole replay: events are read
        // in place, never copied.
        let history = self.core().history.clone();
        loop {
            let polled = self.poll(now);
            let mut core = self.core();
            let recorded = history.get(core.cursor);
            match (polled, recorded) {
                (Polled::Done(result), None) => {
                    drop(core);
                    return Some(self.finish(result));
                }
                (Polled::Done(Err(failure)), Some(_)) => {
                    drop(core);
                    return Some(self.finish(Err(failure)));
                }
                (Polled::Done(Ok(output)), Some(recorded)) => {
                    // The code returned; the history must end the same way.
                    let failure = match &recorded.event {
                        Event::RunCompleted { output: recorded_output } if *recorded_output == output => None,
                        Event::RunCompleted { output: recorded_output } => Some(core.drift_with(
                            recorded.seq,
                            None,
                            None,
                            Some(format!("the workflow returned {output} but the history recorded {recorded_output}")),
                        )),
                        other => Some(core.drift_with(
                            recorded.seq,
                            core.expected_at_cursor().map(|(_, d)| d),
                            None,
                            Some(format!("the workflow returned {output} where the history has {}", other.type_name())),
                        )),
                    };
                    core.cursor = core.history.len();
                    drop(core);
                    return Some(match failure {
                        Some(f) => self.finish(Err(f)),
                        None => Event::RunCompleted { output },
                    });
                }
                (Polled::Continue(input), None) => {
                    drop(core);
                    return Some(self.finish_continued(input));
                }
                (Polled::Continue(input), Some(recorded)) => {
                    // The code continues; the history must have continued
                    // here, with the same input — or failed the same way.
                    if let Err(failure) = self.check_continue_input(&input) {
                        drop(core);
                        return Some(self.finish(Err(failure)));
                    }
                    let failure = match &recorded.event {
                        Event::RunContinuedAsNew { input: recorded_input, .. } if *recorded_input == input => None,
                        Event::RunContinuedAsNew { input: recorded_input, .. } => Some(core.drift_with(
                            recorded.seq,
                            None,
                            None,
                            Some(format!(
                                "the workflow continues as new with {input} but the history recorded {recorded_input}"
                            )),
                        )),
                        other => Some(core.drift_with(
                            recorded.seq,
                            core.expected_at_cursor().map(|(_, d)| d),
                            None,
                            Some(format!("the workflow continues as new where the history has {}", other.type_name())),
                        )),
                    };
                    core.cursor = core.history.len();
                    drop(core);
                    return Some(match failure {
                        Some(f) => self.finish(Err(f)),
                        None => {
                            self.future = None;
                            self.terminal = true;
                            recorded.event.clone()
                        }
                    });
                }
                (Polled::Pending, None) => return None,
                (Polled::Pending, Some(recorded)) => {
                    if let Some(command) = recorded.event.resolves() {
                        core.cursor += 1;
                        let kind = match &recorded.event {
                            Event::ActivityCompleted { output, .. } | Event::CompensationCompleted { output, .. } => {
                                ResolutionKind::Activity(Ok(output.clone()))
                            }
                            Event::ActivityFailed { error, .. } | Event::CompensationFailed { error, .. } => {
                                ResolutionKind::Activity(Err(error.clone()))
                            }
                            Event::TimerFired { .. } => ResolutionKind::TimerFired,
                            Event::ChildCompleted { output, .. } => {
                                ResolutionKind::Child(RunOutcome::Completed(output.clone()))
                            }
                            Event::ChildFailed { failure, .. } => {
                                ResolutionKind::Child(RunOutcome::Failed(failure.clone()))
                            }
                            Event::ChildCancelled { reason, .. } => {
                                ResolutionKind::Child(RunOutcome::Cancelled(reason.clone()))
                            }
                            Event::SignalReceived { payload, .. } => ResolutionKind::Signal(Some(payload.clone())),
                            _ => ResolutionKind::Signal(None),
                        };
                        core.deliver(command, Resolution { event_seq: recorded.seq, kind });
                        continue;
                    }
                    if let Event::RunCancelled { .. } = recorded.event {
                        // Cancelled while waiting here: the code agrees.
                        core.cursor += 1;
                        drop(core);
                        self.future = None;
                        self.terminal = true;
                        return Some(recorded.event.clone());
                    }
                    // The history holds a command (or the run's end) the
                    // code did not reach: it waited instead.
                    let expected: Option<CommandDescription> = core.expected_at_cursor().map(|(_, d)| d);
                    let failure = core.drift(recorded.seq, expected, None);
                    core.cursor = core.history.len();
                    drop(core);
                    return Some(self.finish(Err(failure)));
                }
            }
        }
    }

    /// Delivers one live resolution: journals its event, hands it to the
    /// waiting effect and polls. Returns the terminal event if the run
    /// ended.
    pub(crate) fn deliver(
        &mut self,
        command: Seq,
        event: Event,
        kind: ResolutionKind,
        now: DateTime<Utc>,
    ) -> Option<Event> {
        {
            let mut core = self.core();
            core.now = now;
            let event_seq = core.push_event(event);
            core.deliver(command, Resolution { event_seq, kind });
        }
        self.poll_live(now)
    }

    /// Polls once in live mode.
    pub(crate) fn poll_live(&mut self, now: DateTime<Utc>) -> Option<Event> {
        match self.poll(now) {
            Polled::Pending => None,
            Polled::Done(result) => Some(self.finish(result)),
            Polled::Continue(input) => Some(self.finish_continued(input)),
        }
    }

    /// Takes a signal into the mailbox unless this run has seen it.
    pub(crate) fn offer_signal(&mut self, signal: MailboxSignal) -> bool {
        if !self.signals_seen.insert(signal.id) {
            return false;
        }
        // Mailbox order, not arrival order, decides which signal of a name
        // is consumed first.
        let at = self.mailbox.iter().rposition(|s| s.id < signal.id).map_or(0, |i| i + 1);
        self.mailbox.insert(at, signal);
        true
    }

    pub(crate) fn is_open(&self, command: Seq) -> bool {
        self.core().open.contains_key(&command)
    }
}

impl LiveRun {
    /// Ends the run as cancelled: drops its future (and with it every
    /// effect it was waiting on) and queues the terminal event.
    pub(crate) fn cancel(&mut self, event: Event, now: DateTime<Utc>) {
        self.future = None;
        self.terminal = true;
        self.inbox.clear();
        let mut core = self.core();
        core.now = now;
        core.push_event(event);
    }
}
