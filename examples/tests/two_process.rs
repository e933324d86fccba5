//! The two-process example as users run it, with real processes on a real
//! PostgreSQL: a client process that hosts nothing starts runs and exits
//! at once, and worker processes run them without waiting for any lease;
//! worker processes shut down gracefully (SIGTERM) and restart while runs
//! are in flight, and every run completes with no attempt consumed by the
//! restarts.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::Reaped;
use continuum::{Client, Event, HistoryEvent, Journal, RunOutcome};
use continuum_examples::onboarding::{Verification, workflow_id};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

const WORKER: &str = env!("CARGO_BIN_EXE_onboarding_worker");
const CLIENT: &str = env!("CARGO_BIN_EXE_onboarding_client");

/// A worker process; its log goes to `log`.
fn worker(url: &str, log: &std::path::Path) -> Reaped {
    let log = std::fs::File::create(log).expect("a log file");
    Reaped(
        Command::new(WORKER)
            .args(["--database-url", url, "--grace-secs", "10"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn a worker"),
    )
}

/// Waits until the worker's log says it is ready.
async fn ready(log: &std::path::Path) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !std::fs::read_to_string(log).unwrap_or_default().contains("onboarding worker ready") {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the worker becomes ready");
}

/// Asks a worker to stop the way an orchestrator does, and waits for it.
fn terminate(mut worker: Reaped) {
    let pid = worker.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(status.success());
    let exited = worker.0.wait().expect("the worker exits");
    assert!(exited.success(), "a gracefully stopped worker exits cleanly: {exited:?}");
}

fn client(url: &str, args: &[&str]) -> String {
    let out = Command::new(CLIENT)
        .args(["--database-url", url])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run the client");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "client {args:?} failed: {stdout}");
    stdout
}

fn at(history: &[HistoryEvent], pick: impl Fn(&Event) -> bool) -> Option<DateTime<Utc>> {
    history.iter().find(|e| pick(&e.event)).map(|e| e.at)
}

/// The longest wait between consecutive events of a history that the
/// engine, not the outside world, was responsible for (a signal wait is
/// the sender's).
fn longest_stall(history: &[HistoryEvent]) -> Duration {
    history
        .windows(2)
        .filter(|w| !matches!(w[1].event, Event::SignalReceived { .. }))
        .map(|w| (w[1].at - w[0].at).to_std().unwrap_or_default())
        .max()
        .unwrap_or_default()
}

/// Every activity of the history finished on its first counted attempt.
fn attempts(history: &[HistoryEvent]) -> Vec<u32> {
    history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ActivityCompleted { attempts, .. } | Event::ActivityFailed { attempts, .. } => Some(*attempts),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_process_starts_runs_and_exits_and_workers_run_them_without_a_lease_wait() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let url = db.url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let logs = [dir.path().join("w0.log"), dir.path().join("w1.log")];
    let workers: Vec<Reaped> = logs.iter().map(|l| worker(&url, l)).collect();
    for l in &logs {
        ready(l).await;
    }
    // The client starts 100 runs and exits at once.
    let began = Instant::now();
    let out = client(&url, &["start-many", "100"]);
    assert!(out.contains("started 100 runs"), "{out}");
    let client_took = began.elapsed();

    let journal: Arc<dyn Journal> = Arc::new(PostgresJournal::connect(&url).await.expect("connect"));
    let observer = Client::new(journal.clone());
    let mut gaps = Vec::new();
    for i in 0..100 {
        let id = workflow_id(&format!("bulk-{i}"));
        observer.signal(id.as_str(), "verified", &Verification { code: "1".into() }).await.expect("signal");
    }
    for i in 0..100 {
        let id = workflow_id(&format!("bulk-{i}"));
        let outcome = observer.await_outcome(id.as_str(), Duration::from_secs(60)).await.expect("the run ends");
        assert!(matches!(outcome, RunOutcome::Completed(_)), "{id}: {outcome:?}");
        let run = observer.get_run(id.as_str()).await.unwrap().id;
        let history = journal.history(run).await.unwrap();
        let started = at(&history, |e| matches!(e, Event::RunStarted { .. })).unwrap();
        let first = at(&history, |e| matches!(e, Event::ActivityScheduled { .. })).unwrap();
        gaps.push((first - started).to_std().unwrap_or_default());
        assert_eq!(attempts(&history), vec![1, 1, 1], "{id}");
    }
    let max_gap = gaps.iter().max().copied().unwrap_or_default();
    println!(
        "client: 100 starts in {client_took:?}, then exited; start -> first activity scheduled: max {max_gap:?}, \
         mean {:?}",
        gaps.iter().sum::<Duration>() / 100
    );
    // A run that waited for the client's lease to lapse would show the
    // whole 30 s lease here.
    assert!(max_gap < Duration::from_secs(30), "a run waited for a lease: {max_gap:?}");
    for w in workers {
        terminate(w);
    }
    drop(journal);
    drop(observer);
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_restarted_gracefully_under_load_hand_over_every_run_without_consuming_attempts() {
    const RUNS: u32 = 500;
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let url = db.url().to_owned();
    // Kept if the test fails, for the workers' logs.
    let dir = std::env::temp_dir().join(format!("continuum-two-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = |name: &str| dir.join(format!("{name}.log"));
    let mut workers = vec![worker(&url, &log("a0")), worker(&url, &log("b0"))];
    ready(&log("a0")).await;
    ready(&log("b0")).await;
    client(&url, &["start-many", &RUNS.to_string()]);
    let journal: Arc<dyn Journal> = Arc::new(PostgresJournal::connect(&url).await.expect("connect"));
    let observer = Client::new(journal.clone());
    // Signals go out in four waves; between waves one worker is stopped
    // gracefully and replaced, so each is restarted twice with runs in
    // flight.
    let mut restarts = 0;
    for wave in 0..4u32 {
        for i in (wave..RUNS).step_by(4) {
            let id = workflow_id(&format!("bulk-{i}"));
            observer.signal(id.as_str(), "verified", &Verification { code: "1".into() }).await.expect("signal");
        }
        let which = usize::try_from(wave % 2).unwrap();
        let stopping = std::mem::replace(&mut workers[which], worker(&url, &log(&format!("{which}-{wave}"))));
        terminate(stopping);
        ready(&log(&format!("{which}-{wave}"))).await;
        restarts += 1;
    }
    let mut longest = Duration::ZERO;
    for i in 0..RUNS {
        let id = workflow_id(&format!("bulk-{i}"));
        let outcome = observer.await_outcome(id.as_str(), Duration::from_secs(120)).await.expect("the run ends");
        assert!(matches!(outcome, RunOutcome::Completed(_)), "{id}: {outcome:?}");
        let run = observer.get_run(id.as_str()).await.unwrap().id;
        let history = journal.history(run).await.unwrap();
        assert_eq!(attempts(&history), vec![1, 1, 1], "{id}: a restart consumed an attempt");
        longest = longest.max(longest_stall(&history));
    }
    let handed: usize = (0..4)
        .map(|wave| {
            let which = wave % 2;
            std::fs::read_to_string(log(&format!("{which}-{wave}")))
                .unwrap_or_default()
                .matches("adopting runs no process holds")
                .count()
        })
        .sum();
    println!(
        "{RUNS} runs, {restarts} graceful restarts under load: every run completed, every activity on its first \
         attempt; longest stall of any run {longest:?}; adoption batches by restarted workers {handed}"
    );
    // A hand-over that waited for a lease would stall a run for the whole
    // 30 s lease.
    assert!(longest < Duration::from_secs(30), "a run waited for a lease: {longest:?}");
    for w in workers {
        terminate(w);
    }
    drop(journal);
    drop(observer);
    let _ = std::fs::remove_dir_all(&dir);
    db.drop_database().await.unwrap();
}
