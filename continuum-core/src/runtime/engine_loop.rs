//! The engine's task: gathers commands from the runtime's handles and
//! workers, wake-up hints from the journal and due timers into batches,
//! keeps commits in flight, and hands what they confirm to waiters and
//! workers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::warn;

use super::Command;
use super::readiness::ReadinessCell;
use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::{JournalError, StartError};
use crate::ids::RunId;
use crate::journal::{ActivityTask, RunWake, TaskLease};

/// Commands gathered into one commit at most.
const MAX_COMMANDS_PER_COMMIT: usize = 4096;

/// The engine's loop: gathers every command that is waiting (and the
/// hints, and due timers) into a batch, commits it in one journal call,
/// and answers and dispatches once the journal confirms. Several commits
/// may be in flight; work that arrives meanwhile joins the next one, so
/// batches grow with the load (group commit).
pub(super) async fn engine_loop(
    mut engine: Engine,
    mut rx: mpsc::UnboundedReceiver<Command>,
    clock: Arc<dyn Clock>,
    local: mpsc::UnboundedSender<ActivityTask>,
    mut wakeups: Option<broadcast::Receiver<RunWake>>,
    readiness: ReadinessCell,
) {
    let renewal = engine.config().lease_renewal.max(Duration::from_millis(10));
    let mut next_renewal = tokio::time::Instant::now() + renewal;
    let mut next_reload = tokio::time::Instant::now();
    let mut starts: HashMap<RunId, oneshot::Sender<Result<RunId, StartError>>> = HashMap::new();
    let journal = engine.journal().clone();
    let mut handing = tokio::task::JoinSet::new();
    loop {
        let mut sleep_for = engine
            .next_timer_due()
            .map_or(Duration::from_secs(3600), |at| crate::clock::until(clock.now(), at))
            // Re-check at least every second so a wall-clock jump cannot
            // strand a timer.
            .min(Duration::from_secs(1))
            .min(next_renewal.saturating_duration_since(tokio::time::Instant::now()));
        if engine.has_reloads() {
            sleep_for = sleep_for.min(next_reload.saturating_duration_since(tokio::time::Instant::now()));
        }
        let wake = async {
            match wakeups.as_mut() {
                Some(w) => w.recv().await,
                None => std::future::pending().await,
            }
        };
        let mut hints = Hints::default();
        tokio::select! {
            biased;
            Some(done) = engine.next_commit(), if engine.in_flight() > 0 => engine.settle(done),
            c = rx.recv() => match c {
                Some(Command::Release(reply)) => return release(engine, reply, &mut starts, handing).await,
                Some(c) => stage(&mut engine, c, &mut starts).await,
                None => return,
            },
            w = wake => match w {
                Ok(hint) => hints.note(hint),
                // Missed hints: look at every run.
                Err(broadcast::error::RecvError::Lagged(_)) => hints.all = true,
                Err(broadcast::error::RecvError::Closed) => {}
            },
            () = tokio::time::sleep(sleep_for) => {}
        }
        // Everything that queued up meanwhile joins this commit.
        for _ in 0..MAX_COMMANDS_PER_COMMIT {
            match rx.try_recv() {
                Ok(Command::Release(reply)) => return release(engine, reply, &mut starts, handing).await,
                Ok(c) => stage(&mut engine, c, &mut starts).await,
                Err(_) => break,
            }
        }
        if let Some(w) = wakeups.as_mut() {
            loop {
                match w.try_recv() {
                    Ok(hint) => hints.note(hint),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => hints.all = true,
                    Err(_) => break,
                }
                if hints.all {
                    break;
                }
            }
        }
        if hints.all {
            engine.stage_wake(None).await;
        } else if !hints.runs.is_empty() {
            engine.stage_wake(Some(hints.runs)).await;
        }
        if hints.adopt || hints.all {
            engine.adopt_orphans().await;
        }
        engine.stage_local_wakes().await;
        engine.fail_refused_runs().await;
        engine.stage_due_timers().await;
        if engine.has_reloads() && tokio::time::Instant::now() >= next_reload {
            engine.reload_runs().await;
            next_reload = tokio::time::Instant::now() + Duration::from_millis(500);
        }
        if tokio::time::Instant::now() >= next_renewal {
            // Commits everything first, then renews and adopts.
            let renewed = engine.maintain_leases().await;
            readiness.mark_health(renewed.err().map(|e| e.to_string()));
            next_renewal = tokio::time::Instant::now() + renewal;
        }
        // A commit starts now if there is room in flight; otherwise the
        // staged work waits for one to end and joins a larger batch.
        while engine.flush() {}
        for (run, result) in engine.take_start_results() {
            if let Some(reply) = starts.remove(&run) {
                let _ = reply.send(result);
            }
        }
        let mut unsent = Vec::new();
        for task in engine.take_dispatch() {
            // The worker pool stopped (a shutdown): the task goes back to
            // the journal for any worker, its attempt not counted.
            if let Err(mpsc::error::SendError(task)) = local.send(task) {
                unsent.push(TaskLease { run: task.run, seq: task.seq, token: task.token });
            }
        }
        if !unsent.is_empty() {
            let journal = journal.clone();
            handing.spawn(async move {
                if let Err(e) = journal.release_tasks(&unsent).await {
                    warn!(error = %e, tasks = unsent.len(), "giving back tasks failed; their leases lapse instead");
                }
            });
        }
        while handing.try_join_next().is_some() {}
        for (task, result) in engine.take_handed_back() {
            // Another process serves the run: record the result on the
            // task; the journal tells the run's owner. A shutdown waits
            // for these before it ends.
            let journal = journal.clone();
            handing.spawn(async move {
                if let Err(e) = journal.finish_attempt(&task, result).await {
                    warn!(run_id = %task.run, seq = task.seq, error = %e, "activity result rejected");
                }
            });
        }
    }
}

/// What the journal's hints ask the engine to look at.
#[derive(Default)]
struct Hints {
    runs: Vec<RunId>,
    all: bool,
    adopt: bool,
}

impl Hints {
    fn note(&mut self, hint: RunWake) {
        match hint {
            RunWake::Run(run) => self.runs.push(run),
            RunWake::All => self.all = true,
            RunWake::Adopt => self.adopt = true,
        }
    }
}

async fn stage(
    engine: &mut Engine,
    command: Command,
    starts: &mut HashMap<RunId, oneshot::Sender<Result<RunId, StartError>>>,
) {
    match command {
        Command::Start(req, reply) => match engine.stage_start(req) {
            Ok(run) => {
                starts.insert(run, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        },
        Command::Task(outcome) => engine.stage_task(outcome).await,
        Command::Attempt(task, result) => engine.stage_attempt(task, result).await,
        Command::Signal(run, signal) => engine.stage_signal(run, signal).await,
        Command::Cancel(run, reason, reply) => {
            let _ = reply.send(engine.cancel(run, reason).await);
        }
        Command::Stats(reply) => {
            let _ = reply.send(engine.stats());
        }
        Command::Audit(reply) => {
            let _ = reply.send(engine.unservable_runs().await);
        }
        Command::Drain(reply) => {
            engine.begin_drain();
            let _ = reply.send(());
        }
        Command::Release(_) => unreachable!("handled by the loop"),
    }
}

/// The last step of a shutdown: commits everything, releases every run
/// and answers the starts still waiting; the loop ends after it.
async fn release(
    mut engine: Engine,
    reply: oneshot::Sender<Result<usize, JournalError>>,
    starts: &mut HashMap<RunId, oneshot::Sender<Result<RunId, StartError>>>,
    mut handing: tokio::task::JoinSet<()>,
) {
    // Results of other processes' runs are recorded before anything is
    // let go: a result lost here would cost its task an attempt.
    while handing.join_next().await.is_some() {}
    let released = engine.release_all().await;
    for (run, result) in engine.take_start_results() {
        if let Some(reply) = starts.remove(&run) {
            let _ = reply.send(result);
        }
    }
    let _ = reply.send(released);
}
