//! Durability across real processes: a worker running activity → timer →
//! activity on PostgreSQL is killed with SIGKILL in the middle of the
//! second activity; a second process finishes the run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

    let mut first = Command::new(WORKER)
        .args([db.url(), "start", "order-7"])
        .env("CONTINUUM_HANG_IN_SHIP", "1")
        .env("CONTINUUM_MARKER_DIR", &markers)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the first worker");
    wait_for_marker(&markers, Duration::from_secs(60));
    first.kill().expect("SIGKILL"); // `Child::kill` is SIGKILL on Unix
    let status = first.wait().expect("reap");
    assert!(!status.success());

    let second = Command::new(WORKER)
        .args([db.url(), "finish", "order-7"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run the second worker");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "second worker failed: {stdout}");
    let line = |key: &str| {
        stdout.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_else(|| panic!("no {key} in {stdout}")).to_string()
    };
    assert_eq!(line("result="), "70", "same result: len(\"order-7\") * 10");
    assert_eq!(
        line("history="),
        "run_started,activity_scheduled,activity_completed,timer_started,timer_fired,\
         activity_scheduled,activity_completed,run_completed"
    );
    // The killed attempt of `ship` counted: it completed on attempt 2.
    assert_eq!(line("attempts="), "1,2");
    let _ = std::fs::remove_dir_all(&markers);
    db.drop_database().await.expect("drop the test database");
}

/// Kills the child on drop, so a failing assertion leaves no process.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_parked_on_a_timer_in_a_killed_process_is_adopted_by_a_running_one() {
    use continuum::{Journal, RunStatus};

    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let journal = continuum_postgres::PostgresJournal::connect(db.url()).await.expect("connect");
    journal.migrate().await.expect("migrate");
    let fast = [("CONTINUUM_RUN_LEASE_MS", "1500"), ("CONTINUUM_RENEW_MS", "300")];
    // The survivor is up before the run exists: it cannot pick the run up
    // at boot, only by noticing that its owner stopped renewing the lease.
    let _survivor = Reaped(
        Command::new(WORKER).args([db.url(), "serve", "-"]).envs(fast).stdout(Stdio::null()).spawn().expect("spawn"),
    );
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
    assert_eq!(
        kinds,
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "timer_started",
            "timer_fired",
            "activity_scheduled",
            "activity_completed",
            "run_completed",
        ]
    );
    drop(journal);
    db.drop_database().await.expect("drop the test database");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("continuum-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("marker dir");
    dir
}
