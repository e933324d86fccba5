//! The injectors: one task per kind of fault, each injecting its fault at
//! random intervals until told to stop, and counting what it injected.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use continuum_testkit::postgres::{StopMode, restart_server_with};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::fleet::{Fleet, with_application_name};

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// T1: SIGKILL of a random worker every 0.5–3 s; it is started again
    /// up to 0.8 s later.
    KillWorker,
    /// T5: SIGSTOP every 3–8 s of a random worker for 0.5–2 s longer than the run
    /// lease, then SIGCONT: its runs are adopted meanwhile, and whatever
    /// it writes when it wakes must be fenced.
    PauseWorker,
    /// T3: `pg_terminate_backend` every 1.5–5 s of every other backend
    /// of the test database, or of one worker's.
    TerminateBackends,
    /// T4: a restart of the whole server every 4–8 s, `pg_ctl -m fast`
    /// and `-m immediate` in turn.
    RestartServer,
}

impl Fault {
    /// The tag its counts are labelled with.
    pub fn tag(self) -> &'static str {
        match self {
            Fault::KillWorker => "T1",
            Fault::PauseWorker => "T5",
            Fault::TerminateBackends => "T3",
            Fault::RestartServer => "T4",
        }
    }

    /// Bounds of the pause before each injection, in milliseconds.
    fn interval_ms(self) -> (u64, u64) {
        match self {
            Fault::KillWorker => (500, 3000),
            Fault::PauseWorker => (3000, 8000),
            Fault::TerminateBackends => (1500, 5000),
            Fault::RestartServer => (4000, 8000),
        }
    }
}

/// Faults injected, by label.
pub type Counts = Arc<Mutex<BTreeMap<&'static str, u64>>>;

/// What the injectors share.
#[derive(Debug)]
pub struct Injectors {
    /// The workers.
    pub fleet: Arc<Mutex<Fleet>>,
    /// The test database.
    pub url: String,
    /// The workers' run lease (a pause outlasts it).
    pub run_lease: Duration,
    /// What was injected.
    pub counts: Counts,
    /// Set to make every injector return after its current fault.
    pub stop: AtomicBool,
}

impl Injectors {
    fn count(&self, label: &'static str, n: u64) {
        *self.counts.lock().expect("counts").entry(label).or_default() += n;
    }
}

/// Starts one injector per fault; each returns once `stop` is set.
pub fn start(faults: &[Fault], shared: &Arc<Injectors>, seed: u64) -> Vec<tokio::task::JoinHandle<()>> {
    faults
        .iter()
        .enumerate()
        .map(|(n, &fault)| tokio::spawn(inject(fault, shared.clone(), fastrand::Rng::with_seed(seed + n as u64))))
        .collect()
}

async fn inject(fault: Fault, shared: Arc<Injectors>, mut rng: fastrand::Rng) {
    let fleet = || shared.fleet.lock().expect("fleet");
    // Restarts alternate between the stop modes, the first chosen at random.
    let mut restarts = u64::from(rng.bool());
    loop {
        let (lo, hi) = fault.interval_ms();
        tokio::time::sleep(Duration::from_millis(rng.u64(lo..=hi))).await;
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match fault {
            Fault::KillWorker => {
                let Some(i) = fleet().kill(|n| rng.usize(..n)) else { continue };
                shared.count("T1 SIGKILL a worker (then restart it)", 1);
                tokio::time::sleep(Duration::from_millis(rng.u64(0..=800))).await;
                fleet().restart(i);
            }
            Fault::PauseWorker => {
                let Some(i) = fleet().pause(|n| rng.usize(..n)) else { continue };
                shared.count("T5 SIGSTOP a worker past its run lease (then SIGCONT)", 1);
                tokio::time::sleep(shared.run_lease + Duration::from_millis(rng.u64(500..=2000))).await;
                fleet().resume(i);
            }
            Fault::TerminateBackends => {
                let workers = fleet().len();
                let only = rng.bool().then(|| Fleet::application_name(rng.usize(..workers)));
                // The server may be restarting (T4): then there is nothing
                // to terminate, and nothing is counted.
                if let Ok(n) = terminate_backends(&shared.url, only.as_deref()).await {
                    shared.count("T3 pg_terminate_backend (calls)", 1);
                    shared.count("T3 backends terminated", n);
                }
            }
            Fault::RestartServer => {
                restarts += 1;
                let (mode, label) = if restarts % 2 == 0 {
                    (StopMode::Fast, "T4 restart_server_with(Fast)")
                } else {
                    (StopMode::Immediate, "T4 restart_server_with(Immediate)")
                };
                tokio::task::spawn_blocking(move || restart_server_with(mode))
                    .await
                    .expect("restart task")
                    .unwrap_or_else(|e| panic!("restarting the test server failed: {e}"));
                shared.count(label, 1);
            }
        }
    }
}

/// Terminates the test database's backends other than this connection's
/// (only those of `application_name`, if given); returns how many.
async fn terminate_backends(url: &str, application_name: Option<&str>) -> Result<u64, sqlx::Error> {
    let mut conn = PgConnection::connect(&with_application_name(url, "fault-suite-admin")).await?;
    // Materialized first, so only the chosen backends are terminated
    // whatever order the planner would evaluate the conditions in.
    let n: i64 = sqlx::query_scalar(
        "WITH chosen AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND ($1::text IS NULL OR application_name = $1)) \
         SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM chosen",
    )
    .bind(application_name)
    .fetch_one(&mut conn)
    .await?;
    let _ = conn.close().await;
    Ok(u64::try_from(n).unwrap_or(0))
}
