//! Activity execution: the worker pool, one attempt at a time per task,
//! with timeout, panic capture, batched lease heartbeats and the retry
//! decision.
//!
//! Tasks reach the pool two ways: handed over by this process's engine
//! (inserted already leased to this process, in the same commit that
//! journaled their `ActivityScheduled` event), or claimed from the journal
//! (tasks of other processes' runs, retries, and tasks whose worker died).
//! One loop owns every attempt: when the runtime stops, its attempts stop
//! with it, and so do their heartbeats, letting the leases expire.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{AbortHandle, AbortRegistration, Abortable};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, trace, warn};

use crate::clock::{self, Clock};
use crate::error::{ActivityError, ActivityErrorKind};
use crate::ids::{RunId, Seq};
use crate::journal::{ActivityTask, AttemptResult, Journal, TaskLease};
use crate::limits::DEFAULT_MAX_PAYLOAD;
use crate::registry::Registry;

use super::Command;

/// How attempts are run.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Attempts running at once.
    pub concurrency: usize,
    /// Lease of a claimed task; renewed every third of it while running.
    pub task_lease: Duration,
    /// Retry immediately instead of waiting for the backoff (the testkit's
    /// inline mode; attempts are still counted).
    pub skip_backoff: bool,
    /// The largest activity output accepted, in bytes of JSON; a larger
    /// one fails the attempt with an [`ActivityError`] of kind `Payload`
    /// (not retried) and is never stored. `None` (the default) takes the
    /// engine's `EngineConfig::max_payload_bytes`.
    pub max_output_bytes: Option<usize>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self { concurrency: 64, task_lease: Duration::from_secs(30), skip_backoff: false, max_output_bytes: None }
    }
}

/// Runs one attempt of `task` and decides what happens next: a panic, a
/// timeout or an error is a failed attempt, retried per the task's policy;
/// it never takes the worker down.
pub async fn execute_attempt(registry: &Registry, task: &ActivityTask, config: &WorkerConfig) -> AttemptResult {
    let result = match registry.activity(&task.activity) {
        None => Err(ActivityError::of_kind(
            ActivityErrorKind::UnknownActivity,
            format!("no activity named `{}` is registered on this worker", task.activity),
            false,
        )),
        Some(activity) => {
            let fut = AssertUnwindSafe((activity.run)(task.input.clone())).catch_unwind();
            let outcome = match task.timeout {
                Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| t),
                None => Ok(fut.await),
            };
            match outcome {
                Err(t) => Err(ActivityError::of_kind(
                    ActivityErrorKind::TimedOut,
                    format!("attempt exceeded its {t:?} timeout"),
                    false,
                )),
                Ok(Err(panic)) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "non-string panic payload".into());
                    Err(ActivityError::of_kind(ActivityErrorKind::Panicked, message, false))
                }
                Ok(Ok(r)) => r,
            }
        }
    };
    let max_output = config.max_output_bytes.unwrap_or(DEFAULT_MAX_PAYLOAD);
    let result = match result {
        Ok(out) if out.len() > max_output => Err(ActivityError::of_kind(
            ActivityErrorKind::Payload,
            format!("the output of {} bytes exceeds the cap of {max_output} bytes", out.len()),
            true,
        )),
        other => other.map_err(ActivityError::bounded),
    };
    match result {
        Ok(out) => AttemptResult::Completed(out),
        Err(error) => {
            let last = task.attempt >= task.retry.max_attempts;
            debug!(run_id = %task.run, seq = task.seq, activity = %task.activity, attempt = task.attempt, %error, "activity attempt failed");
            let retry_in = if error.non_retryable || last {
                None
            } else if config.skip_backoff {
                Some(Duration::ZERO)
            } else {
                Some(task.retry.delay_after(task.attempt, rand::random::<f64>()))
            };
            AttemptResult::Failed { error, retry_in }
        }
    }
}

type Held = Arc<Mutex<HashMap<(RunId, Seq), (u64, AbortHandle)>>>;

/// Asks the pool to stop: claim nothing more, give back the tasks not
/// started, let running attempts finish until `grace` has passed, then
/// stop the rest and give their tasks back too.
pub(super) struct Drain {
    pub(super) grace: Duration,
    pub(super) reply: oneshot::Sender<DrainReport>,
}

/// What a drain did.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct DrainReport {
    /// Attempts that ended within the grace period (their results are
    /// with the engine or the journal).
    pub(super) finished: usize,
    /// Tasks given back without their attempt counted: queued ones, and
    /// attempts stopped when the grace period ran out.
    pub(super) released: usize,
}

/// A drain in progress.
struct Draining {
    deadline: tokio::time::Instant,
    reply: oneshot::Sender<DrainReport>,
    report: DrainReport,
}

/// The worker pool's loop. `local` brings tasks the engine leased to this
/// process; `in_hand` counts them until their attempt ends.
// The pool's inputs are the runtime's channels, each used once here.
#[allow(clippy::too_many_arguments)]
pub(super) async fn pool_loop(
    journal: Arc<dyn Journal>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    config: WorkerConfig,
    mut local: mpsc::UnboundedReceiver<ActivityTask>,
    in_hand: Arc<AtomicUsize>,
    engine: mpsc::UnboundedSender<Command>,
    mut control: mpsc::UnboundedReceiver<Drain>,
) {
    let held: Held = Arc::default();
    let mut draining: Option<Draining> = None;
    let mut attempts = tokio::task::JoinSet::new();
    // Tasks in hand but not started yet: their leases are renewed like the
    // running ones' (they are in `held` from the moment they arrive).
    let mut queue: VecDeque<(ActivityTask, bool, AbortRegistration)> = VecDeque::new();
    let concurrency = config.concurrency.max(1);
    let mut heartbeat = tokio::time::interval((config.task_lease / 3).max(Duration::from_millis(10)));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // When to claim next if nothing announces a task before: a deadline,
    // not a duration, so the other branches firing do not postpone it.
    let mut claim_at = tokio::time::Instant::now();
    // The pool claims only what it can run; other processes run the rest.
    let runnable = registry.activity_names();
    let mut local_open = true;
    loop {
        if let Some(d) = draining.take_if(|_| attempts.is_empty()) {
            // Tasks the engine handed over before it stopped doing so;
            // once closed, any it sends later it gives back itself.
            local.close();
            let mut late = Vec::new();
            while let Ok(task) = local.try_recv() {
                late.push(hold(&held, task, true));
            }
            let report = give_back(&journal, &held, &in_hand, late, d.report).await;
            let _ = d.reply.send(report);
            return;
        }
        while draining.is_none()
            && attempts.len() < concurrency
            && let Some((task, is_local, registration)) = queue.pop_front()
        {
            let held = (held.clone(), in_hand.clone());
            spawn_attempt(
                &mut attempts,
                &journal,
                &registry,
                held,
                config,
                task,
                is_local,
                registration,
                engine.clone(),
            );
        }
        let free = concurrency.saturating_sub(attempts.len());
        let claim = {
            let (journal, wait) = (&journal, claim_at.saturating_duration_since(tokio::time::Instant::now()));
            async move {
                if !wait.is_zero() {
                    journal.wait_for_tasks(wait).await;
                }
            }
        };
        let deadline = draining.as_ref().map(|d| d.deadline);
        tokio::select! {
            biased;
            Some(drain) = control.recv(), if draining.is_none() => {
                debug!(grace = ?drain.grace, running = attempts.len(), queued = queue.len(), "worker pool draining");
                let queued: Vec<_> = queue.drain(..).collect();
                let report = DrainReport { finished: attempts.len(), released: 0 };
                let report = give_back(&journal, &held, &in_hand, queued, report).await;
                draining = Some(Draining {
                    deadline: far_or(drain.grace),
                    reply: drain.reply,
                    report,
                });
            }
            task = local.recv(), if local_open => match task {
                Some(task) if draining.is_some() => {
                    let d = draining.as_mut().expect("checked");
                    d.report = give_back(&journal, &held, &in_hand, vec![hold(&held, task, true)], d.report).await;
                }
                Some(task) => queue.push_back(hold(&held, task, true)),
                None => local_open = false,
            },
            Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
            _ = heartbeat.tick() => renew(&journal, &held, config.task_lease).await,
            () = sleep_until_or_never(deadline), if deadline.is_some() => {
                // The grace period is over: stop what still runs and give
                // its tasks back; the aborted attempts end at once.
                let stopped = stop_running(&held);
                if let Some(d) = draining.as_mut() {
                    d.report.finished = d.report.finished.saturating_sub(stopped.len());
                    d.report.released += stopped.len();
                    d.deadline = far_or(Duration::MAX);
                }
                if let Err(e) = journal.release_tasks(&stopped).await {
                    warn!(error = %e, tasks = stopped.len(), "giving back stopped tasks failed; their leases lapse instead");
                }
            }
            () = claim, if free > 0 && queue.is_empty() && draining.is_none() => {
                match journal.claim_tasks(free, config.task_lease, Some(&runnable)).await {
                    Ok(claim) => {
                        for outcome in claim.settled {
                            if engine.send(Command::Task(outcome)).is_err() {
                                return;
                            }
                        }
                        claim_at = tokio::time::Instant::now();
                        if claim.tasks.is_empty() {
                            // A task due already but not claimed is one this
                            // pool does not run, or another claimer's: wait
                            // for an announcement (or the backstop) instead.
                            let idle = match journal.next_task_due().await {
                                Ok(Some(at)) if at > clock.now() => {
                                    clock::until(clock.now(), at).min(Duration::from_secs(1))
                                }
                                _ => Duration::from_secs(1),
                            };
                            claim_at += idle.max(Duration::from_millis(1));
                        }
                        queue.extend(claim.tasks.into_iter().map(|t| hold(&held, t, false)));
                    }
                    Err(e) => {
                        error!(error = %e, "claiming activity tasks failed; backing off");
                        claim_at = tokio::time::Instant::now() + Duration::from_millis(200);
                    }
                }
            }
        }
    }
}

/// Gives back tasks in hand that have not started, counting them in
/// `report`.
async fn give_back(
    journal: &Arc<dyn Journal>,
    held: &Held,
    in_hand: &AtomicUsize,
    tasks: Vec<(ActivityTask, bool, AbortRegistration)>,
    mut report: DrainReport,
) -> DrainReport {
    if tasks.is_empty() {
        return report;
    }
    let mut leases = Vec::with_capacity(tasks.len());
    {
        let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
        for (task, is_local, _) in &tasks {
            held.remove(&(task.run, task.seq));
            if *is_local {
                in_hand.fetch_sub(1, Ordering::Relaxed);
            }
            leases.push(TaskLease { run: task.run, seq: task.seq, token: task.token });
        }
    }
    report.released += leases.len();
    if let Err(e) = journal.release_tasks(&leases).await {
        warn!(error = %e, tasks = leases.len(), "giving back tasks failed; their leases lapse instead");
    }
    report
}

/// Stops every attempt in hand; returns their leases.
fn stop_running(held: &Held) -> Vec<TaskLease> {
    let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
    held.drain()
        .map(|((run, seq), (token, abort))| {
            abort.abort();
            TaskLease { run, seq, token }
        })
        .collect()
}

/// `after` from now, or a century if that cannot be counted.
fn far_or(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

async fn sleep_until_or_never(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Takes a task in hand: its lease is renewed from now on, and losing it
/// stops the attempt (before it starts, if it has not).
fn hold(held: &Held, task: ActivityTask, is_local: bool) -> (ActivityTask, bool, AbortRegistration) {
    trace!(run_id = %task.run, seq = task.seq, attempt = task.attempt, is_local, "activity task in hand");
    let (abort, registration) = AbortHandle::new_pair();
    held.lock().unwrap_or_else(PoisonError::into_inner).insert((task.run, task.seq), (task.token, abort));
    (task, is_local, registration)
}

#[allow(clippy::too_many_arguments)]
fn spawn_attempt(
    attempts: &mut tokio::task::JoinSet<()>,
    journal: &Arc<dyn Journal>,
    registry: &Arc<Registry>,
    (held, in_hand): (Held, Arc<AtomicUsize>),
    config: WorkerConfig,
    task: ActivityTask,
    is_local: bool,
    registration: AbortRegistration,
    engine: mpsc::UnboundedSender<Command>,
) {
    let key = (task.run, task.seq);
    let (journal, registry) = (journal.clone(), registry.clone());
    attempts.spawn(async move {
        trace!(run_id = %task.run, seq = task.seq, attempt = task.attempt, "activity attempt starts");
        let result = Abortable::new(execute_attempt(&registry, &task, &config), registration).await;
        {
            // Only our own entry: a newer lease of the same task (claimed
            // again after ours was lost) is not ours to forget.
            let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
            if held.get(&key).is_some_and(|(token, _)| *token == task.token) {
                held.remove(&key);
            }
        }
        if is_local {
            in_hand.fetch_sub(1, Ordering::Relaxed);
        }
        // Aborted: the lease was lost, another worker owns the task now,
        // and any result of ours would be fenced out.
        let Ok(result) = result else { return };
        // Final results are journaled with their run by the engine; a
        // retry goes back to the journal for the task's next attempt.
        let result = match result {
            retry @ AttemptResult::Failed { retry_in: Some(_), .. } => match journal.finish_attempt(&task, retry).await {
                Ok(Some(outcome)) => Command::Task(outcome),
                Ok(None) => return,
                Err(e) => {
                    warn!(run_id = %task.run, seq = task.seq, error = %e, "activity retry not recorded");
                    return;
                }
            },
            done => Command::Attempt(task, done),
        };
        if engine.send(result).is_err() {
            warn!("engine stopped before an activity result could be delivered; the task's lease will lapse and it will run again");
        }
    });
}

/// Renews the lease of every task the pool holds, in one journal call;
/// stops the attempts whose lease was lost.
async fn renew(journal: &Arc<dyn Journal>, held: &Held, ttl: Duration) {
    let leases: Vec<TaskLease> = held
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|((run, seq), (token, _))| TaskLease { run: *run, seq: *seq, token: *token })
        .collect();
    if leases.is_empty() {
        return;
    }
    match journal.heartbeat_tasks(&leases, ttl).await {
        Ok(lost) => {
            let mut held = held.lock().unwrap_or_else(PoisonError::into_inner);
            for lease in lost {
                if let Some((token, abort)) = held.get(&(lease.run, lease.seq))
                    && *token == lease.token
                {
                    warn!(run_id = %lease.run, seq = lease.seq, "activity task lease lost while running; stopping the attempt");
                    abort.abort();
                    held.remove(&(lease.run, lease.seq));
                }
            }
        }
        Err(e) => warn!(error = %e, "renewing activity task leases failed; retrying"),
    }
}
