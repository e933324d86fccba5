//! An in-memory journal: the reference implementation of [`Journal`], used
//! by tests and the testkit. It enforces the same fencing and sequencing
//! rules as a durable journal; it is durable only as long as the value is
//! alive (share it between runtimes with `Arc` to simulate a crash).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use uuid::Uuid;

use super::{
    ActivityTask, AttemptResult, ChildReport, Claim, Journal, Lease, MailboxSignal, NewActivityTask, NewRun,
    PendingWork, RunAppend, RunInfo, RunStatus, RunWake, RunWrite, Servable, ServedVersion, StoredResult, TaskLease,
    TaskOutcome, Written,
};
use crate::clock::{self, Clock, SystemClock};
use crate::error::{ActivityError, ActivityErrorKind, JournalError};
use crate::event::{Event, HistoryEvent};
use crate::ids::{RunId, Seq};
use crate::payload::Payload;

/// The in-memory journal.
pub struct InMemoryJournal {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
    tasks_ready: Notify,
    /// Hints for the runtimes on this journal: runs released for anyone
    /// to adopt (a client's start, a process shutting down).
    wakes: tokio::sync::broadcast::Sender<RunWake>,
}

#[derive(Default)]
struct State {
    runs: HashMap<RunId, RunRow>,
    workflow_ids: HashMap<String, RunId>,
    tasks: BTreeMap<(RunId, Seq), TaskRow>,
    next_token: u64,
    next_signal: u64,
    /// The activity results side table: `(activity, idempotency key)` →
    /// output of a completed execution.
    idempotent_results: HashMap<(String, String), Payload>,
    /// Versions registered by the runtimes on this journal, per process,
    /// with when the registration lapses.
    versions: HashMap<Uuid, (Vec<ServedVersion>, DateTime<Utc>)>,
    /// Signal delivery ids delivered, per chain (its first run).
    signal_ids: std::collections::HashSet<(RunId, String)>,
}

struct RunRow {
    info: RunInfo,
    events: Vec<HistoryEvent>,
    lease_token: u64,
    mailbox: VecDeque<MailboxSignal>,
    /// Outcomes of this run's children, not yet journaled by it.
    child_outcomes: Vec<ChildReport>,
    /// The run it continued as, if it did.
    continued_to: Option<RunId>,
    /// Released by its holder (or created by a process that does not run
    /// it): the next runtime to look adopts it.
    released: bool,
}

struct TaskRow {
    spec: NewActivityTask,
    attempts: u32,
    state: TaskState,
}

enum TaskState {
    Ready { due: DateTime<Utc> },
    Leased { token: u64, until: DateTime<Utc> },
    Finished { result: Result<Payload, ActivityError> },
}

impl InMemoryJournal {
    /// A journal on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A journal whose lease and backoff arithmetic uses `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        let (wakes, _) = tokio::sync::broadcast::channel(1024);
        Self { state: Mutex::new(State::default()), clock, tasks_ready: Notify::new(), wakes }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied write:
        // every method validates before it mutates.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every run id, oldest first (used by the testkit's paranoid mode).
    pub fn all_runs_for_tests(&self) -> Vec<RunId> {
        let st = self.lock();
        let mut runs: Vec<_> = st.runs.values().map(|r| (r.info.started_at, r.info.id)).collect();
        runs.sort();
        runs.into_iter().map(|(_, id)| id).collect()
    }

    /// Replaces the payload of one event with raw text — for tests of
    /// histories that no longer decode.
    pub fn corrupt_payload_for_tests(&self, run: RunId, seq: Seq, raw: &str) -> bool {
        let mut st = self.lock();
        let Some(row) = st.runs.get_mut(&run) else { return false };
        let Some(ev) = row.events.iter_mut().find(|e| e.seq == seq) else { return false };
        let raw = Payload::from_json_unchecked(raw);
        match &mut ev.event {
            Event::ActivityCompleted { output: p, .. }
            | Event::ValueRecorded { value: p, .. }
            | Event::SignalReceived { payload: p, .. }
            | Event::RunStarted { input: p, .. }
            | Event::ActivityScheduled { input: p, .. } => {
                *p = raw;
                true
            }
            _ => false,
        }
    }
}

impl Default for InMemoryJournal {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    fn row(&self, run: RunId) -> Result<&RunRow, JournalError> {
        self.runs.get(&run).ok_or(JournalError::RunNotFound(run))
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// The run's finished tasks whose outcome is not in its history yet.
    fn finished_tasks(&self, run: RunId) -> impl Iterator<Item = TaskOutcome> + '_ {
        self.tasks.range((run, 0)..=(run, Seq::MAX)).filter_map(|((r, seq), t)| match &t.state {
            TaskState::Finished { result } => {
                Some(TaskOutcome { run: *r, seq: *seq, attempts: t.attempts, result: result.clone() })
            }
            _ => None,
        })
    }

    /// Checks and applies one run's write; nothing is changed if it fails.
    /// The status of the chain rooted at `root`: its tip's.
    /// The first run of `run`'s continue-as-new chain.
    fn chain_root(&self, run: RunId) -> RunId {
        let mut root = run;
        while let Some(Event::RunStarted { continued_from: Some(prev), .. }) =
            self.runs.get(&root).and_then(|r| r.events.first()).map(|e| &e.event)
        {
            root = *prev;
        }
        root
    }

    fn chain_status(&self, root: RunId) -> RunStatus {
        let mut tip = root;
        while let Some(next) = self.runs.get(&tip).and_then(|r| r.continued_to) {
            tip = next;
        }
        self.runs.get(&tip).map_or(RunStatus::Running, |r| r.info.status)
    }

    fn apply(&mut self, write: RunWrite, now: DateTime<Utc>) -> Result<(Written, bool), JournalError> {
        let RunWrite { create, append } = write;
        let run = append.lease.run;
        let token = match &create {
            Some(create) => {
                let Some(HistoryEvent {
                    seq: 1,
                    at,
                    event: Event::RunStarted { workflow, version, parent, continued_from, .. },
                }) = append.events.first()
                else {
                    return Err(JournalError::InvalidInput {
                        what: "new run",
                        detail: "its first event must be run_started at seq 1".into(),
                    });
                };
                if self.runs.contains_key(&run) {
                    return Err(JournalError::Backend(format!("run {run} exists already")));
                }
                // A successor takes its chain's workflow id; a new chain's
                // must be free.
                let workflow_id = match continued_from {
                    Some(prev) => self.row(*prev)?.info.workflow_id.clone(),
                    None => {
                        // The chain holding the id, if any, must have ended,
                        // and ended in a way the start's policy accepts.
                        if let Some(&existing) = self.workflow_ids.get(&create.workflow_id)
                            && !create.reuse.allows(self.chain_status(existing))
                        {
                            return Err(JournalError::DuplicateWorkflowId {
                                workflow_id: create.workflow_id.clone(),
                                existing,
                            });
                        }
                        create.workflow_id.clone()
                    }
                };
                append.check_seqs(1)?;
                let info = RunInfo {
                    id: run,
                    workflow_id: workflow_id.clone(),
                    workflow: workflow.clone(),
                    version: *version,
                    status: RunStatus::Running,
                    started_at: *at,
                    last_seq: 0,
                    parent: *parent,
                };
                let token = self.token();
                let mut mailbox = VecDeque::new();
                match continued_from {
                    // The predecessor's undelivered signals and running
                    // children move to its successor.
                    Some(prev) => {
                        if let Some(p) = self.runs.get_mut(prev) {
                            p.continued_to = Some(run);
                            mailbox = std::mem::take(&mut p.mailbox);
                        }
                        for child in self.runs.values_mut() {
                            if let Some(p) = child.info.parent.as_mut()
                                && p.run == *prev
                                && !child.info.status.is_terminal()
                            {
                                p.run = run;
                            }
                        }
                    }
                    None => {
                        self.workflow_ids.insert(workflow_id, run);
                    }
                }
                self.runs.insert(
                    run,
                    RunRow {
                        info,
                        events: Vec::new(),
                        lease_token: token,
                        mailbox,
                        child_outcomes: Vec::new(),
                        continued_to: None,
                        released: false,
                    },
                );
                token
            }
            None => {
                let row = self.row(run)?;
                if row.lease_token != append.lease.token {
                    tracing::warn!(%run, presented = append.lease.token, current = row.lease_token, "stale journal write rejected");
                    return Err(JournalError::Fenced { run, presented: append.lease.token, current: row.lease_token });
                }
                if row.info.status.is_terminal() {
                    return Err(JournalError::RunTerminal { run, status: row.info.status });
                }
                append.check_seqs(row.info.last_seq + 1)?;
                append.lease.token
            }
        };
        let terminal = append.ends_as();
        let row = self.runs.get_mut(&run).ok_or(JournalError::RunNotFound(run))?;
        if let Some(last) = append.events.last() {
            row.info.last_seq = last.seq;
        }
        row.events.extend(append.events);
        row.mailbox.retain(|s| !append.consumed_signals.contains(&s.id));
        row.child_outcomes.retain(|c| !append.resolved_children.contains(&c.command));
        if let Some(status) = terminal {
            row.info.status = status;
            // An ended run's mailbox and children's outcomes go with it (a
            // run that continued hands its mailbox to its successor).
            if status != RunStatus::Continued {
                row.mailbox.clear();
            }
            row.child_outcomes.clear();
        }
        // A child's end waits for its parent, unless the parent has ended.
        if let Some(report) = append.child_report
            && let Some(parent) = self.runs.get_mut(&report.parent)
            && !parent.info.status.is_terminal()
        {
            parent.child_outcomes.push(report);
        }
        for seq in append.resolved_tasks {
            self.tasks.remove(&(run, seq));
        }
        let mut leased_tasks = Vec::new();
        let mut ready = false;
        if terminal.is_some() {
            // Outstanding work of an ended run is dropped: a late completion
            // finds no task and is discarded.
            self.tasks.retain(|(r, _), _| *r != run);
        } else {
            for spec in append.new_tasks {
                let (attempts, state) = match spec.lease_to_writer {
                    Some(ttl) => {
                        let token = self.token();
                        leased_tasks.push((spec.seq, token));
                        (1, TaskState::Leased { token, until: clock::add(now, ttl) })
                    }
                    None => {
                        ready = true;
                        (0, TaskState::Ready { due: now })
                    }
                };
                self.tasks.insert((run, spec.seq), TaskRow { spec, attempts, state });
            }
        }
        Ok((Written { lease: Lease { run, token }, leased_tasks }, ready))
    }
}

#[async_trait]
impl Journal for InMemoryJournal {
    async fn create_run(&self, run: NewRun) -> Result<Lease, JournalError> {
        let now = self.clock.now();
        let (written, _) = self.lock().apply(run.into_write(now), now)?;
        Ok(written.lease)
    }

    async fn acquire_run(&self, run: RunId) -> Result<Lease, JournalError> {
        let mut st = self.lock();
        let status = st.row(run)?.info.status;
        if status.is_terminal() {
            return Err(JournalError::RunTerminal { run, status });
        }
        let token = st.token();
        if let Some(row) = st.runs.get_mut(&run) {
            row.lease_token = token;
            row.released = false;
        }
        Ok(Lease { run, token })
    }

    async fn reacquire_run(&self, lease: &Lease) -> Result<Lease, JournalError> {
        let mut st = self.lock();
        let row = st.row(lease.run)?;
        let (status, current) = (row.info.status, row.lease_token);
        if status.is_terminal() {
            return Err(JournalError::RunTerminal { run: lease.run, status });
        }
        if current != lease.token {
            return Err(JournalError::Fenced { run: lease.run, presented: lease.token, current });
        }
        let token = st.token();
        if let Some(row) = st.runs.get_mut(&lease.run) {
            row.lease_token = token;
        }
        Ok(Lease { run: lease.run, token })
    }

    async fn run_info(&self, run: RunId) -> Result<RunInfo, JournalError> {
        Ok(self.lock().row(run)?.info.clone())
    }

    async fn find_workflow_id(&self, workflow_id: &str) -> Result<Option<RunInfo>, JournalError> {
        let st = self.lock();
        Ok(st.workflow_ids.get(workflow_id).and_then(|id| st.runs.get(id)).map(|r| r.info.clone()))
    }

    async fn history(&self, run: RunId) -> Result<Arc<[HistoryEvent]>, JournalError> {
        Ok(Arc::from(self.lock().row(run)?.events.as_slice()))
    }

    async fn append(&self, append: RunAppend) -> Result<(), JournalError> {
        let now = self.clock.now();
        let (_, ready) = self.lock().apply(RunWrite { create: None, append }, now)?;
        if ready {
            self.tasks_ready.notify_one();
        }
        Ok(())
    }

    async fn commit(&self, writes: Vec<RunWrite>) -> Result<Vec<Result<Written, JournalError>>, JournalError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let mut ready = false;
        // Writes to existing runs first, new runs after (as PostgreSQL's
        // commit does): a successor takes its predecessor's mailbox only
        // once the predecessor's last write consumed what it consumed.
        let mut results: Vec<Option<Result<Written, JournalError>>> = vec![None; writes.len()];
        let (creates, appends): (Vec<_>, Vec<_>) =
            writes.into_iter().enumerate().partition(|(_, w)| w.create.is_some());
        // Successors last: a child started in the step that continued its
        // parent is created in this commit too, and must exist when the
        // successor takes over the predecessor's running children.
        let (successors, others): (Vec<_>, Vec<_>) = creates.into_iter().partition(|(_, w)| w.continues().is_some());
        // A run created by a write that is refused (a child its parent's
        // refused write starts, the successor of a refused write) is not
        // created either. Creators come before what they create.
        let mut refused: Vec<RunId> = Vec::new();
        let mut told: Vec<RunId> = Vec::new();
        for (i, w) in appends.into_iter().chain(others).chain(successors) {
            let run = w.append.lease.run;
            let creator = match (&w.create, w.append.events.first().map(|e| &e.event)) {
                (Some(_), Some(Event::RunStarted { parent, continued_from, .. })) => {
                    continued_from.or(parent.map(|p| p.run))
                }
                _ => None,
            };
            let parent = w.append.child_report.as_ref().map(|r| r.parent);
            let result = match creator {
                Some(c) if refused.contains(&c) => {
                    Err(JournalError::Backend(format!("run {run} not created: the write that starts it was refused")))
                }
                _ => st.apply(w, now).map(|(written, r)| {
                    ready |= r;
                    written
                }),
            };
            match (&result, parent) {
                (Err(_), _) => refused.push(run),
                (Ok(_), Some(parent)) => told.push(parent),
                (Ok(_), None) => {}
            }
            results[i] = Some(result);
        }
        let results = results.into_iter().flatten().collect();
        drop(st);
        if ready {
            self.tasks_ready.notify_one();
        }
        // A child's end waits for its parent: tell whoever serves it.
        for parent in told {
            let _ = self.wakes.send(RunWake::Run(parent));
        }
        Ok(results)
    }

    async fn active_runs(&self) -> Result<Vec<RunId>, JournalError> {
        let st = self.lock();
        let mut runs: Vec<_> =
            st.runs.values().filter(|r| !r.info.status.is_terminal()).map(|r| (r.info.started_at, r.info.id)).collect();
        runs.sort();
        Ok(runs.into_iter().map(|(_, id)| id).collect())
    }

    async fn send_signal(&self, run: RunId, name: &str, payload: Payload) -> Result<MailboxSignal, JournalError> {
        let mut st = self.lock();
        let status = st.row(run)?.info.status;
        if status.is_terminal() {
            return Err(JournalError::RunTerminal { run, status });
        }
        st.next_signal += 1;
        let signal = MailboxSignal { id: st.next_signal, name: name.to_owned(), payload };
        if let Some(row) = st.runs.get_mut(&run) {
            row.mailbox.push_back(signal.clone());
        }
        drop(st);
        // Tell the runtime serving the run (another handle on this journal
        // may have sent it).
        let _ = self.wakes.send(RunWake::Run(run));
        Ok(signal)
    }

    async fn send_signal_once(
        &self,
        run: RunId,
        name: &str,
        payload: Payload,
        delivery_id: &str,
    ) -> Result<Option<MailboxSignal>, JournalError> {
        let mut st = self.lock();
        let status = st.row(run)?.info.status;
        let key = (st.chain_root(run), delivery_id.to_owned());
        if st.signal_ids.contains(&key) {
            return Ok(None);
        }
        if status.is_terminal() {
            return Err(JournalError::RunTerminal { run, status });
        }
        st.signal_ids.insert(key);
        st.next_signal += 1;
        let signal = MailboxSignal { id: st.next_signal, name: name.to_owned(), payload };
        if let Some(row) = st.runs.get_mut(&run) {
            row.mailbox.push_back(signal.clone());
        }
        drop(st);
        let _ = self.wakes.send(RunWake::Run(run));
        Ok(Some(signal))
    }

    async fn mailbox(&self, run: RunId) -> Result<Vec<MailboxSignal>, JournalError> {
        Ok(self.lock().row(run)?.mailbox.iter().cloned().collect())
    }

    async fn claim_tasks(
        &self,
        max: usize,
        ttl: Duration,
        activities: Option<&[String]>,
    ) -> Result<Claim, JournalError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let mut claim = Claim::default();
        let due: Vec<(RunId, Seq)> = st
            .tasks
            .iter()
            .filter(|(_, t)| activities.is_none_or(|names| names.contains(&t.spec.activity)))
            .filter(|(_, t)| match t.state {
                TaskState::Ready { due } => due <= now,
                TaskState::Leased { until, .. } => until <= now,
                TaskState::Finished { .. } => false,
            })
            .map(|(k, _)| *k)
            .take(max)
            .collect();
        for key in due {
            let token = st.token();
            let stored = st.tasks.get(&key).and_then(|t| {
                let k = t.spec.idempotency_key.clone()?;
                st.idempotent_results.get(&(t.spec.activity.clone(), k)).cloned()
            });
            let Some(task) = st.tasks.get_mut(&key) else { continue };
            if let Some(output) = stored {
                task.state = TaskState::Finished { result: Ok(output.clone()) };
                claim.settled.push(TaskOutcome { run: key.0, seq: key.1, attempts: task.attempts, result: Ok(output) });
                continue;
            }
            if matches!(task.state, TaskState::Leased { .. }) && task.attempts >= task.spec.retry.max_attempts {
                // The holder died during the last allowed attempt: the crash
                // consumed it. Fail without re-running side effects.
                tracing::warn!(run = %key.0, seq = key.1, attempts = task.attempts, "activity worker lost its last attempt");
                let error = ActivityError::of_kind(
                    ActivityErrorKind::AttemptsExhausted,
                    format!("worker lost attempt {} of {}", task.attempts, task.spec.retry.max_attempts),
                    true,
                );
                task.state = TaskState::Finished { result: Err(error.clone()) };
                claim.settled.push(TaskOutcome { run: key.0, seq: key.1, attempts: task.attempts, result: Err(error) });
                continue;
            }
            task.attempts += 1;
            task.state = TaskState::Leased { token, until: clock::add(now, ttl) };
            claim.tasks.push(ActivityTask {
                run: key.0,
                seq: key.1,
                activity: task.spec.activity.clone(),
                input: task.spec.input.clone(),
                attempt: task.attempts,
                retry: task.spec.retry,
                timeout: task.spec.timeout,
                token,
                idempotency_key: task.spec.idempotency_key.clone(),
            });
        }
        Ok(claim)
    }

    async fn heartbeat_task(&self, task: &ActivityTask, ttl: Duration) -> Result<(), JournalError> {
        let now = self.clock.now();
        let mut st = self.lock();
        let row = st
            .tasks
            .get_mut(&(task.run, task.seq))
            .ok_or(JournalError::TaskNotFound { run: task.run, seq: task.seq })?;
        match &mut row.state {
            TaskState::Leased { token, until } if *token == task.token => {
                *until = clock::add(now, ttl);
                Ok(())
            }
            TaskState::Leased { token, .. } => {
                Err(JournalError::Fenced { run: task.run, presented: task.token, current: *token })
            }
            _ => Err(JournalError::Fenced { run: task.run, presented: task.token, current: 0 }),
        }
    }

    async fn heartbeat_tasks(&self, leases: &[TaskLease], ttl: Duration) -> Result<Vec<TaskLease>, JournalError> {
        let until = clock::add(self.clock.now(), ttl);
        let mut st = self.lock();
        let mut lost = Vec::new();
        for lease in leases {
            match st.tasks.get_mut(&(lease.run, lease.seq)).map(|t| &mut t.state) {
                Some(TaskState::Leased { token, until: u }) if *token == lease.token => *u = until,
                _ => lost.push(*lease),
            }
        }
        Ok(lost)
    }

    async fn release_tasks(&self, leases: &[TaskLease]) -> Result<(), JournalError> {
        let now = self.clock.now();
        let mut released = false;
        {
            let mut st = self.lock();
            for lease in leases {
                if let Some(row) = st.tasks.get_mut(&(lease.run, lease.seq))
                    && matches!(row.state, TaskState::Leased { token, .. } if token == lease.token)
                {
                    row.attempts = row.attempts.saturating_sub(1);
                    row.state = TaskState::Ready { due: now };
                    released = true;
                }
            }
        }
        if released {
            self.tasks_ready.notify_one();
        }
        Ok(())
    }

    async fn finish_attempt(
        &self,
        task: &ActivityTask,
        result: AttemptResult,
    ) -> Result<Option<TaskOutcome>, JournalError> {
        let mut st = self.lock();
        let row = st
            .tasks
            .get_mut(&(task.run, task.seq))
            .ok_or(JournalError::TaskNotFound { run: task.run, seq: task.seq })?;
        match row.state {
            TaskState::Leased { token, .. } if token == task.token => {}
            TaskState::Leased { token, .. } => {
                return Err(JournalError::Fenced { run: task.run, presented: task.token, current: token });
            }
            _ => return Err(JournalError::Fenced { run: task.run, presented: task.token, current: 0 }),
        }
        // The first result stored under an idempotency key is the one in
        // force for every task with the key.
        let result = match (result, &row.spec.idempotency_key) {
            (AttemptResult::Completed(out), Some(k)) => {
                let key = (row.spec.activity.clone(), k.clone());
                AttemptResult::Completed(st.idempotent_results.entry(key).or_insert(out).clone())
            }
            (result, _) => result,
        };
        let row = st
            .tasks
            .get_mut(&(task.run, task.seq))
            .ok_or(JournalError::TaskNotFound { run: task.run, seq: task.seq })?;
        let (state, outcome) = match result {
            AttemptResult::Completed(out) => (TaskState::Finished { result: Ok(out.clone()) }, Some(Ok(out))),
            AttemptResult::Failed { retry_in: Some(wait), .. } if row.attempts < row.spec.retry.max_attempts => {
                (TaskState::Ready { due: clock::add(self.clock.now(), wait) }, None)
            }
            AttemptResult::Failed { error, .. } => {
                (TaskState::Finished { result: Err(error.clone()) }, Some(Err(error)))
            }
        };
        row.state = state;
        let attempts = row.attempts;
        let retrying = outcome.is_none();
        drop(st);
        if retrying {
            self.tasks_ready.notify_one();
        } else {
            // The task's outcome waits for its run: tell whoever serves it.
            let _ = self.wakes.send(RunWake::Run(task.run));
        }
        Ok(outcome.map(|result| TaskOutcome { run: task.run, seq: task.seq, attempts, result }))
    }

    async fn store_result(&self, stored: StoredResult) -> Result<Payload, JournalError> {
        let mut st = self.lock();
        Ok(st.idempotent_results.entry((stored.activity, stored.key)).or_insert(stored.output).clone())
    }

    fn run_wakeups(&self) -> Option<tokio::sync::broadcast::Receiver<RunWake>> {
        Some(self.wakes.subscribe())
    }

    async fn release_run(&self, lease: &Lease, backoff: Duration) -> Result<(), JournalError> {
        {
            let mut st = self.lock();
            let Some(row) = st.runs.get_mut(&lease.run) else { return Ok(()) };
            if row.lease_token != lease.token || row.info.status.is_terminal() {
                return Ok(());
            }
            // One process uses this journal: a run released for a while
            // (its version drifted) simply stays with it.
            if !backoff.is_zero() {
                return Ok(());
            }
            row.released = true;
        }
        let _ = self.wakes.send(RunWake::Adopt);
        Ok(())
    }

    async fn claim_orphaned_runs(&self, max: usize, servable: &Servable) -> Result<Vec<RunId>, JournalError> {
        let mut st = self.lock();
        let mut runs: Vec<(DateTime<Utc>, RunId)> = st
            .runs
            .values()
            .filter(|r| r.released && !r.info.status.is_terminal() && servable.names.contains(&r.info.workflow))
            .map(|r| (r.info.started_at, r.info.id))
            .collect();
        runs.sort();
        runs.truncate(max);
        for (_, run) in &runs {
            if let Some(row) = st.runs.get_mut(run) {
                row.released = false;
            }
        }
        Ok(runs.into_iter().map(|(_, r)| r).collect())
    }

    async fn register_versions(
        &self,
        process: Uuid,
        versions: &[ServedVersion],
        alive_for: Duration,
    ) -> Result<(), JournalError> {
        let until = clock::add(self.clock.now(), alive_for);
        self.lock().versions.insert(process, (versions.to_vec(), until));
        Ok(())
    }

    async fn served_versions(&self, except: Uuid) -> Result<Vec<ServedVersion>, JournalError> {
        let now = self.clock.now();
        let mut st = self.lock();
        st.versions.retain(|_, (_, until)| *until > now);
        let mut out: Vec<ServedVersion> =
            st.versions.iter().filter(|(p, _)| **p != except).flat_map(|(_, (v, _))| v.iter().cloned()).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    async fn finished_tasks(&self, run: RunId) -> Result<Vec<TaskOutcome>, JournalError> {
        Ok(self.lock().finished_tasks(run).collect())
    }

    async fn pending_work(&self, runs: &[RunId]) -> Result<PendingWork, JournalError> {
        let st = self.lock();
        let mut work = PendingWork::default();
        for run in runs {
            let Some(row) = st.runs.get(run) else { continue };
            work.signals.extend(row.mailbox.iter().map(|s| (*run, s.clone())));
            work.children.extend(row.child_outcomes.iter().cloned());
            work.tasks.extend(st.finished_tasks(*run));
        }
        Ok(work)
    }

    async fn chain_tip(&self, run: RunId) -> Result<RunId, JournalError> {
        let st = self.lock();
        let mut tip = st.row(run)?.info.id;
        while let Some(next) = st.runs.get(&tip).and_then(|r| r.continued_to) {
            tip = next;
        }
        Ok(tip)
    }

    async fn running_children(&self, run: RunId) -> Result<Vec<RunId>, JournalError> {
        let st = self.lock();
        let mut children: Vec<_> = st
            .runs
            .values()
            .filter(|r| r.info.parent.is_some_and(|p| p.run == run) && !r.info.status.is_terminal())
            .map(|r| (r.info.started_at, r.info.id))
            .collect();
        children.sort();
        Ok(children.into_iter().map(|(_, id)| id).collect())
    }

    async fn next_task_due(&self) -> Result<Option<DateTime<Utc>>, JournalError> {
        let st = self.lock();
        Ok(st
            .tasks
            .values()
            .filter_map(|t| match t.state {
                TaskState::Ready { due } => Some(due),
                TaskState::Leased { until, .. } => Some(until),
                TaskState::Finished { .. } => None,
            })
            .min())
    }

    async fn wait_for_tasks(&self, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.tasks_ready.notified()).await;
    }
}
