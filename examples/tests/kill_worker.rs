//! Durability across real processes: a worker running activity → timer →
//! activity on PostgreSQL is killed with SIGKILL in the middle of the
//! second activity; a second process finishes the run.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Reaped;
use continuum_testkit::postgres::TestDatabase;

const WORKER: &str = env!("CARGO_BIN_EXE_pg_worker");

fn wait_for_marker(dir: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the first worker never reached the `ship` activity");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_activity_is_finished_by_another_process() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let markers = tempfile_dir();

    let fast = [("CONTINUUM_RUN_LEASE_MS", "1000"), ("CONTINUUM_RENEW_MS", "200")];
    let mut first = Command::new(WORKER)
        .args([db.url(), "start", "order-7"])
        .envs(fast)
        .env("CONTINUUM_HANG_IN_SHIP", "1")
        .env("CONTINUUM_MARKER_DIR", &markers)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the first worker");
    wait_for_marker(&markers, Duration::from_secs(60));
    first.kill().expect("SIGKILL"); // `Child::kill` is SIGKILL on Unix
    let status = first.wait().expect("reap");
    assert!(!status.success());

    let second = common::finish(WORKER, db.url(), "order-7", &fast);
    let line = |key: &str| common::value(&second, key);
    assert_eq!(line("result"), "70", "same result: len(\"order-7\") * 10");
    assert_eq!(
        line("history"),
        "run_started,activity_scheduled,activity_completed,timer_started,timer_fired,\
         activity_scheduled,activity_completed,run_completed"
    );
    // The killed attempt of `ship` counted: it completed on attempt 2.
    assert_eq!(line("attempts"), "1,2");
    let _ = std::fs::remove_dir_all(&markers);
    db.drop_database().await.expect("drop the test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_parked_on_a_timer_in_a_killed_process_is_adopted_by_a_running_one() {
    use continuum::{Journal, RunStatus};

    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let journal = continuum_postgres::PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
    let fast = [("CONTINUUM_RUN_LEASE_MS", "1500"), ("CONTINUUM_RENEW_MS", "300")];
    let mut owner = Command::new(WORKER)
        .args([db.url(), "start-timed", "order-9"])
        .envs(fast)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the owner");
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        assert!(Instant::now() < deadline, "the run never reached its timer");
        if let Some(info) = journal.find_workflow_id("order-9").await.expect("query") {
            let history = journal.history(info.id).await.expect("history");
            if history.iter().any(|e| e.event.type_name() == "timer_started") {
                break info.id;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The survivor joins while the owner is alive and renewing: it must
    // leave the run alone at boot, and can only pick it up by noticing,
    // while running, that the owner stopped renewing the lease.
    let survivor = Reaped(
        Command::new(WORKER)
            .args([db.url(), "serve", "-"])
            .envs(fast)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (token, _) = lease(&journal, run).await;
    assert_eq!(token, lease(&journal, run).await.0, "a joining process took a live run away");
    owner.kill().expect("SIGKILL");
    owner.wait().expect("reap");

    let deadline = Instant::now() + Duration::from_secs(60);
    while journal.run_info(run).await.expect("run").status == RunStatus::Running {
        assert!(Instant::now() < deadline, "nobody adopted the orphaned run");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let info = journal.run_info(run).await.expect("run");
    assert_eq!(info.status, RunStatus::Completed);
    let kinds: Vec<_> = journal.history(run).await.expect("history").iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, common::EXACT_HISTORY);
    drop(survivor);
    drop(journal);
    db.drop_database().await.expect("drop the test database");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("continuum-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("marker dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_worker_whose_run_was_taken_over_cannot_write_to_it() {
    use continuum::{Journal, RunStatus};

    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let journal = continuum_postgres::PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
    let fast = [("CONTINUUM_RUN_LEASE_MS", "1000"), ("CONTINUUM_RENEW_MS", "200")];
    // The owner runs alone, so it certainly owns the run when frozen.
    let mut paused = Reaped(
        Command::new(WORKER)
            .args([db.url(), "start-timed", "order-11"])
            .envs(fast)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the owner"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        assert!(Instant::now() < deadline, "the run never reached its timer");
        if let Some(info) = journal.find_workflow_id("order-11").await.expect("query") {
            let history = journal.history(info.id).await.expect("history");
            if history.iter().any(|e| e.event.type_name() == "timer_started") {
                break info.id;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let token_before = lease_token(&journal, run).await;
    // Freeze the owner; another process takes the run over.
    let pid = paused.0.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().expect("kill").success());
    let survivor = Reaped(
        Command::new(WORKER)
            .args([db.url(), "serve", "-"])
            .envs(fast)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while lease_token(&journal, run).await == token_before {
        assert!(Instant::now() < deadline, "nobody took the run over");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Thaw it before the 4 s timer is due: it wakes believing it owns the
    // run, and its timer fires along with the new owner's.
    assert!(Command::new("kill").args(["-CONT", &pid]).status().expect("kill").success());

    let deadline = Instant::now() + Duration::from_secs(60);
    while journal.run_info(run).await.expect("run").status == RunStatus::Running {
        assert!(Instant::now() < deadline, "the run did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // let any late write arrive
    let kinds: Vec<_> = journal.history(run).await.expect("history").iter().map(|e| e.event.type_name()).collect();
    assert_eq!(kinds, common::EXACT_HISTORY, "no stale write was applied");
    // The thawed owner noticed, observably: its renewal reported the lease
    // lost, or its write was fenced.
    let _ = paused.0.kill();
    let _ = paused.0.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut paused.0.stderr.take().expect("stderr"), &mut log).expect("read log");
    assert!(
        log.contains("lease taken over by another process") || log.contains("stale journal write rejected"),
        "the paused owner's log shows no fencing: {log}"
    );
    drop(paused);
    drop(survivor);
    drop(journal);
    db.drop_database().await.expect("drop the test database");
}

async fn lease(journal: &continuum_postgres::PostgresJournal, run: continuum::RunId) -> (i64, bool) {
    sqlx::query_as("SELECT lease_token, lease_until > now() FROM continuum_runs WHERE id = $1")
        .bind(run.0)
        .fetch_one(journal.pool())
        .await
        .expect("lease")
}

async fn lease_token(journal: &continuum_postgres::PostgresJournal, run: continuum::RunId) -> i64 {
    sqlx::query_scalar("SELECT lease_token FROM continuum_runs WHERE id = $1")
        .bind(run.0)
        .fetch_one(journal.pool())
        .await
        .expect("token")
}

/// A parent and its three children run in one process, which is killed
/// with SIGKILL while the children wait on their timers. Another process
/// adopts them all; the parent's history shows each child started and
/// completed exactly once, and each child's history is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_killed_while_its_children_run_sees_each_child_complete_once() {
    use continuum::{Event, Journal};
    use continuum_postgres::PostgresJournal;

    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let fast = [("CONTINUUM_RUN_LEASE_MS", "1000"), ("CONTINUUM_RENEW_MS", "200")];
    let first = Command::new(WORKER)
        .args([db.url(), "start-batch", "batch-7"])
        .envs(fast)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the first worker");
    let mut first = Reaped(first);

    let journal = PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
    let children_waiting = async {
        let root = loop {
            // The worker applies the schema; until then, nothing is there.
            if let Ok(Some(info)) = journal.find_workflow_id("batch-7").await {
                break info.id;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        loop {
            let children: Vec<_> = journal
                .history(root)
                .await
                .expect("history")
                .iter()
                .filter_map(|e| match e.event {
                    Event::ChildStarted { child, .. } => Some(child),
                    _ => None,
                })
                .collect();
            let mut waiting = 0;
            for child in &children {
                let h = journal.history(*child).await.expect("child history");
                waiting += usize::from(h.iter().any(|e| e.event.type_name() == "timer_started"));
            }
            if children.len() == 3 && waiting == 3 {
                return (root, children);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (root, children) =
        tokio::time::timeout(Duration::from_secs(60), children_waiting).await.expect("the children start and wait");
    first.0.kill().expect("SIGKILL");
    assert!(!first.0.wait().expect("reap").success());
    for child in &children {
        assert_eq!(journal.run_info(*child).await.unwrap().status, continuum::RunStatus::Running, "killed mid-child");
    }

    let second = common::finish(WORKER, db.url(), "batch-7", &fast);
    let line = |key: &str| common::value(&second, key);
    assert_eq!(line("result"), "[90,100,110]", "each order's length times ten, in order");
    assert_eq!(
        line("history"),
        "run_started,child_started,child_started,child_started,child_completed,child_completed,child_completed,\
         run_completed"
    );
    let history = journal.history(root).await.expect("history");
    let mut completed: Vec<u64> = history
        .iter()
        .filter_map(|e| match e.event {
            Event::ChildCompleted { started, .. } => Some(started),
            _ => None,
        })
        .collect();
    completed.sort_unstable();
    assert_eq!(completed, [2, 3, 4], "each child completed once");
    for child in children {
        let kinds: Vec<_> = journal.history(child).await.unwrap().iter().map(|e| e.event.type_name()).collect();
        assert_eq!(kinds, common::EXACT_HISTORY);
    }
    drop(journal);
    db.drop_database().await.expect("drop");
}
