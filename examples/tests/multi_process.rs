//! Many processes, one PostgreSQL: three worker processes share 1,000
//! workflows while one of them — one that owns runs — is killed with
//! SIGKILL and restarted twice. Every run completes, no activity completes
//! twice, and every history replays to the same result.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Reaped;
use continuum::{ErasedWorkflow, Event, Journal, Replayed, RunOutcome, RunStatus};
use continuum_examples::orders::{ship_order, timed_order};
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;

const WORKER: &str = env!("CARGO_BIN_EXE_pg_worker");
const RUNS: u32 = 1000;

fn spawn(url: &str, args: &[&str], stdout: Stdio) -> Reaped {
    Reaped(
        Command::new(WORKER)
            .arg(url)
            .args(args)
            .envs([("CONTINUUM_RUN_LEASE_MS", "2000"), ("CONTINUUM_RENEW_MS", "400")])
            .stdout(stdout)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a worker"),
    )
}

fn worker(url: &str, args: &[&str]) -> Reaped {
    spawn(url, args, Stdio::null())
}

/// A worker that starts runs; returns once it has started all of them
/// (and so owns them).
fn starter(url: &str, args: &[&str]) -> Reaped {
    let mut child = spawn(url, args, Stdio::piped());
    let out = child.0.stdout.take().expect("piped stdout");
    let started = BufReader::new(out).lines().map_while(Result::ok).any(|l| l.starts_with("started="));
    assert!(started, "the starter exited before starting its runs");
    child
}

async fn completed(journal: &PostgresJournal) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM continuum_runs WHERE status = 'completed'")
        .fetch_one(journal.pool())
        .await
        .expect("count")
}

/// What the runs that did not finish look like, for the failure message.
async fn stuck(journal: &PostgresJournal) -> String {
    let rows: Vec<(uuid::Uuid, String, i64, String)> = sqlx::query_as(
        "SELECT id, workflow_id, lease_token, (lease_until - now())::text FROM continuum_runs \
         WHERE status <> 'completed' LIMIT 5",
    )
    .fetch_all(journal.pool())
    .await
    .expect("stuck runs");
    let mut out = String::new();
    for (id, wid, token, lease_left) in rows {
        let run = continuum::RunId(id);
        let kinds: Vec<_> = journal.history(run).await.expect("history").iter().map(|e| e.event.type_name()).collect();
        let tasks: Vec<(i64, String, i32)> =
            sqlx::query_as("SELECT seq, state, attempts FROM continuum_tasks WHERE run_id = $1")
                .bind(id)
                .fetch_all(journal.pool())
                .await
                .expect("tasks");
        out += &format!("\n{wid} token={token} lease_left={lease_left} history={kinds:?} tasks={tasks:?}");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_finish_every_run_while_one_is_killed_and_restarted_twice() {
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let journal = PostgresJournal::connect_and_migrate(db.url()).await.expect("connect");
    let url = db.url().to_string();

    let half = RUNS / 2;
    let _first = worker(&url, &["start-many", &format!("0-{half}")]);
    let _third = worker(&url, &["serve", "-"]);
    // The victim owns the other half: its runs wait on 4 s timers when it
    // is killed, so the others must adopt them.
    let mut victim = starter(&url, &["start-timed-many", &format!("{half}-{RUNS}")]);
    assert!(completed(&journal).await < i64::from(RUNS), "killed too late to matter");
    victim.0.kill().expect("SIGKILL");
    victim.0.wait().expect("reap");

    // Restarted, it adopts orphaned runs as their leases lapse; killed
    // again while they are still in flight.
    victim = worker(&url, &["serve", "-"]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(completed(&journal).await < i64::from(RUNS), "killed too late to matter");
    victim.0.kill().expect("SIGKILL");
    victim.0.wait().expect("reap");
    let _victim = worker(&url, &["serve", "-"]);

    let deadline = Instant::now() + Duration::from_secs(240);
    while completed(&journal).await < i64::from(RUNS) {
        if Instant::now() >= deadline {
            panic!("only {} of {RUNS} runs completed; stuck: {}", completed(&journal).await, stuck(&journal).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (ship, timed) = (ErasedWorkflow::of::<ship_order>(), ErasedWorkflow::of::<timed_order>());
    for i in 0..RUNS {
        let id = format!("bulk-{i}");
        let info = journal.find_workflow_id(&id).await.expect("query").expect("run exists");
        assert_eq!(info.status, RunStatus::Completed);
        let history = journal.history(info.id).await.expect("history");
        let mut resolved = BTreeSet::new();
        for e in history.iter() {
            if let Event::ActivityCompleted { scheduled, .. } | Event::ActivityFailed { scheduled, .. } = &e.event {
                assert!(resolved.insert(*scheduled), "{id}: activity {scheduled} completed twice");
            }
        }
        assert_eq!(resolved.len(), 2, "{id}: both activities resolved once");
        let kinds: Vec<_> = history.iter().map(|e| e.event.type_name()).collect();
        assert_eq!(kinds, common::EXACT_HISTORY, "{id}");
        let recorded = RunOutcome::from_event(&history.last().expect("end").event).expect("an end");
        let workflow = if info.workflow == ship.name { &ship } else { &timed };
        let replayed = continuum::engine::replay_history(workflow, info.id, history).expect("replays");
        assert_eq!(replayed, Replayed::Ended(recorded), "{id}: replay reaches the recorded end");
    }
    drop(journal);
    db.drop_database().await.expect("drop the test database");
}
