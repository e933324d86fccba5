//! Running a batch: its programs start on a worker runtime over the
//! journal under test; a client runtime that hosts nothing sends their
//! signals (one per wait, in model order, after the generated pauses) and
//! their cancels; the worker is crashed — dropped, with every live run,
//! attempt and lease it held — and replaced at the batch's crash points;
//! then every run is awaited to its end.

use std::sync::Arc;
use std::time::Duration;

use continuum::prelude::*;
use continuum::{
    CancelError, EngineConfig, Journal, JournalError, RunId, RunOutcome, SignalSendError, StartError, WorkerConfig,
};
use tokio::sync::Mutex;

use super::model::model;
use super::program::{Segment, SignalName, program, undo, work};
use super::strategy::{Batch, Case};

/// How long a program may take to end once started: far longer than any
/// generated program needs, even across crashes.
const QUIESCENCE: Duration = Duration::from_secs(30);

/// What the driver did to one program, for the checks.
#[derive(Debug, Clone)]
pub struct Driven {
    /// The chain's root run.
    pub root: RunId,
    /// The signals whose send returned `Ok`, in send order.
    pub acknowledged: Vec<(SignalName, u32)>,
    /// Whether a cancel was sent and returned `Ok` (the run ended
    /// cancelled), `Some(false)` if it found the run ended already.
    pub cancelled: Option<bool>,
    /// How the chain ended, as `await_outcome` reported it.
    pub outcome: RunOutcome,
}

/// A worker runtime: hosts the program workflow and its activities, with
/// short leases so a crashed worker's runs and tasks move on quickly.
async fn worker(journal: Arc<dyn Journal>) -> Result<Runtime, JournalError> {
    Runtime::builder()
        .journal(journal)
        .workflow(program)
        .activity(work)
        .activity(undo)
        .worker_config(WorkerConfig { task_lease: Duration::from_millis(600), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() })
        .start()
        .await
}

/// A client runtime: hosts nothing, so it owns no run.
async fn client(journal: Arc<dyn Journal>) -> Result<Runtime, JournalError> {
    Runtime::builder()
        .journal(journal)
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(100), ..EngineConfig::default() })
        .start()
        .await
}

/// Starts a program through the current worker, riding out a crash that
/// lands during the start: a start that did commit is found by its
/// workflow id.
async fn start(current: &Mutex<Option<Runtime>>, label: &str, case: &Case) -> Result<RunId, String> {
    let segment = Segment { label: label.to_owned(), steps: case.steps.clone(), trace: Vec::new() };
    for _ in 0..200 {
        let rt = current.lock().await.clone();
        let Some(rt) = rt else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        match rt.start(program, segment.clone(), StartOptions::id(label)).await {
            Ok(run) => return Ok(run.id()),
            Err(StartError::DuplicateWorkflowId { existing, .. }) => return Ok(existing),
            Err(StartError::Shutdown | StartError::Journal(_)) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(other) => return Err(format!("{label}: start failed: {other}")),
        }
    }
    Err(format!("{label}: never started"))
}

/// Sends the program's signals (one per wait of its chain, in order, plus
/// one extra per name if asked) through `client`.
async fn send_signals(client: Runtime, root: RunId, case: Case) -> Vec<(SignalName, u32)> {
    let mut plan: Vec<SignalName> = model(&case.steps).waits;
    if case.extra_signal {
        plan.extend([SignalName::A, SignalName::B]);
    }
    let mut sent: Vec<(SignalName, u32)> = Vec::new();
    for (i, name) in plan.into_iter().enumerate() {
        let gap = case.signal_gaps.get(i % case.signal_gaps.len().max(1)).copied().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(u64::from(gap))).await;
        let index = u32::try_from(sent.iter().filter(|(n, _)| *n == name).count()).unwrap_or(u32::MAX);
        let value = name.value(index);
        match client.signal(root, name.as_str(), &value).await {
            Ok(()) => sent.push((name, value)),
            // The run ended (failed, cancelled, or done with its waits):
            // nothing more to send.
            Err(SignalSendError::RunTerminal { .. }) => break,
            Err(e) => panic!("signal to {root} failed: {e}"),
        }
    }
    sent
}

/// Runs `batch` on `journal` (fresh for the batch); `tag` makes its
/// workflow ids unique.
pub async fn drive(journal: Arc<dyn Journal>, batch: &Batch, tag: &str) -> Result<Vec<Driven>, String> {
    let current = Arc::new(Mutex::new(Some(worker(journal.clone()).await.map_err(|e| e.to_string())?)));
    let client = client(journal.clone()).await.map_err(|e| e.to_string())?;
    let mut roots = Vec::new();
    for (i, case) in batch.cases.iter().enumerate() {
        roots.push(start(&current, &format!("{tag}-{i}"), case).await?);
    }
    // The crashes, on their own clock.
    let crasher = {
        let (current, journal) = (current.clone(), journal.clone());
        let mut at: Vec<u16> = batch.crashes.clone();
        at.sort_unstable();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            for ms in at {
                tokio::time::sleep_until(started + Duration::from_millis(u64::from(ms))).await;
                // Dropping the last handle stops the worker's tasks at
                // once: its runs, attempts and leases are abandoned.
                current.lock().await.take();
                let fresh = worker(journal.clone()).await.expect("a replacement worker starts");
                *current.lock().await = Some(fresh);
            }
        })
    };
    let mut tasks = Vec::new();
    for (case, root) in batch.cases.iter().zip(&roots) {
        let (client, case, root) = (client.clone(), case.clone(), *root);
        tasks.push(tokio::spawn(async move {
            let signals = tokio::spawn(send_signals(client.clone(), root, case.clone()));
            let cancelled = match case.cancel_at {
                Some(ms) => {
                    tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                    match client.cancel(root, Some("driver".into())).await {
                        Ok(()) => Some(true),
                        Err(CancelError::RunTerminal { .. }) => Some(false),
                        Err(e) => panic!("cancel of {root} failed: {e}"),
                    }
                }
                None => None,
            };
            let outcome = client.await_outcome(root, QUIESCENCE).await;
            let acknowledged = signals.await.expect("signals task");
            (root, acknowledged, cancelled, outcome)
        }));
    }
    let mut driven = Vec::new();
    for task in tasks {
        let (root, acknowledged, cancelled, outcome) = task.await.map_err(|e| format!("driver task: {e}"))?;
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(e) => return Err(format!("run {root} did not end: {e}\n{}", stuck(&journal, root).await)),
        };
        driven.push(Driven { root, acknowledged, cancelled, outcome });
    }
    crasher.await.map_err(|e| format!("crasher: {e}"))?;
    current.lock().await.take();
    Ok(driven)
}

/// What a run that did not end is waiting for: the histories of its chain
/// and of the children it started, as event types.
async fn stuck(journal: &Arc<dyn Journal>, root: RunId) -> String {
    let mut out = String::new();
    let mut queue = vec![(root, 0usize)];
    while let Some((run, depth)) = queue.pop() {
        let status = journal.run_info(run).await.map(|i| i.status.to_string()).unwrap_or_else(|e| e.to_string());
        let history = journal.history(run).await.map(|h| h.to_vec()).unwrap_or_default();
        let kinds: Vec<&str> = history.iter().map(|e| e.event.type_name()).collect();
        out.push_str(&format!("{}{run} ({status}): {}\n", "  ".repeat(depth + 1), kinds.join(", ")));
        for e in &history {
            match &e.event {
                continuum::Event::ChildStarted { child, .. } => queue.push((*child, depth + 1)),
                continuum::Event::RunContinuedAsNew { next, .. } => queue.push((*next, depth)),
                _ => {}
            }
        }
    }
    out
}
