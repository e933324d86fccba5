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

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("continuum-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("marker dir");
    dir
}
