//! The fault suite at process level on PostgreSQL (`docs/reliability.md`).
//!
//! Worker processes (`fault_worker`) serve a mixed load — activities,
//! timers, signal waits, child runs, continue-as-new — whose starts are
//! spread over most of the fault phase, while the test process sends the
//! signals and injectors inject faults for a bounded time. Then the faults
//! stop, the fleet heals, the load is left to finish, every worker is
//! stopped, and the invariants are checked against the journal tables
//! and the oracle table the activities write to.
//!
//! A run is sized by a [`Tier`]: the CI tier by default, the soak with
//! `CONTINUUM_FAULT_SOAK=1`; `CONTINUUM_FAULT_RUNS`,
//! `CONTINUUM_FAULT_SECS`, `CONTINUUM_FAULT_WORKERS` and
//! `CONTINUUM_FAULT_SEED` override either.

mod fleet;
mod inject;
mod invariants;
mod signals;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use continuum::{EngineConfig, Runtime};
use continuum_examples::workload::CREATE_ORACLE;
use continuum_postgres::PostgresJournal;
use continuum_testkit::postgres::TestDatabase;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub use inject::Fault;

use fleet::{Fleet, Spec, read_logs, with_application_name};
use inject::Injectors;
use signals::Sender;

/// The workers' run lease: short, so adoption after a kill or a pause is
/// quick (they renew every 400 ms).
const RUN_LEASE: Duration = Duration::from_secs(2);

/// How big a fault run is.
#[derive(Debug, Clone)]
pub struct Tier {
    /// `ci` or `soak`.
    pub name: &'static str,
    /// Runs in the load (children and chain successors come on top).
    pub runs: u32,
    /// How long faults are injected.
    pub fault_time: Duration,
    /// Worker processes.
    pub workers: u32,
    /// Seeds the injectors and the signal sender (printed, to replay a
    /// schedule).
    pub seed: u64,
    /// How long the load may take to finish once faults stop before the
    /// runs still going count as stuck.
    pub settle_within: Duration,
}

impl Tier {
    /// The CI tier (`ci_runs` runs, `ci_fault_time` of faults), or the
    /// soak (2,000 runs, 10 minutes) with `CONTINUUM_FAULT_SOAK=1`; the
    /// `CONTINUUM_FAULT_*` knobs override either.
    pub fn from_env(ci_runs: u32, ci_fault_time: Duration) -> Tier {
        let knob = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
        let soak = knob("CONTINUUM_FAULT_SOAK").is_some_and(|v| v != 0);
        let (name, runs, secs) =
            if soak { ("soak", 2000, 600) } else { ("ci", u64::from(ci_runs), ci_fault_time.as_secs()) };
        let runs = u32::try_from(knob("CONTINUUM_FAULT_RUNS").unwrap_or(runs)).expect("CONTINUUM_FAULT_RUNS fits u32");
        let fault_time = Duration::from_secs(knob("CONTINUUM_FAULT_SECS").unwrap_or(secs));
        let workers = u32::try_from(knob("CONTINUUM_FAULT_WORKERS").unwrap_or(3)).expect("CONTINUUM_FAULT_WORKERS");
        let seed = knob("CONTINUUM_FAULT_SEED").unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
        });
        Tier { name, runs, fault_time, workers, seed, settle_within: Duration::from_secs(120) + fault_time / 4 }
    }
}

/// What a fault run did and found.
#[derive(Debug)]
pub struct Report {
    /// The tier, with its seed.
    pub tier: Tier,
    /// The kinds of fault asked for.
    pub requested: Vec<Fault>,
    /// Faults injected, by label.
    pub faults: BTreeMap<&'static str, u64>,
    /// Counts: runs, executions, duplicates, signals, worker notes.
    pub figures: Vec<(&'static str, u64)>,
    /// How long the phases took (reported, never asserted).
    pub durations: Vec<(&'static str, Duration)>,
    /// Broken invariants; empty when all hold.
    pub violations: Vec<String>,
    /// Where the workers' logs are (kept when something broke).
    pub logs: std::path::PathBuf,
}

impl Report {
    /// How many faults of a kind were injected.
    pub fn injected(&self, fault: Fault) -> u64 {
        self.faults.iter().filter(|(label, _)| label.starts_with(fault.tag())).map(|(_, n)| n).sum()
    }

    /// Prints the report, then asserts that every kind of fault asked for
    /// was injected and that no invariant was violated.
    pub fn assert_holds(&self) {
        println!("{self}");
        for &fault in &self.requested {
            assert!(self.injected(fault) > 0, "no {} fault was injected (the report is above)", fault.tag());
        }
        assert!(self.violations.is_empty(), "{} invariant violations (the report is above)", self.violations.len());
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tier;
        writeln!(
            f,
            "fault suite, tier {} (seed {}): {} runs, {} workers, {} s of faults",
            t.name,
            t.seed,
            t.runs,
            t.workers,
            t.fault_time.as_secs()
        )?;
        writeln!(f, "| what | count |\n|---|---|")?;
        for (label, n) in &self.faults {
            writeln!(f, "| {label} | {n} |")?;
        }
        for (label, n) in &self.figures {
            writeln!(f, "| {label} | {n} |")?;
        }
        writeln!(f, "| violations | {} |", self.violations.len())?;
        for (label, d) in &self.durations {
            writeln!(f, "| {label} | {:.1} s |", d.as_secs_f64())?;
        }
        for v in self.violations.iter().take(50) {
            writeln!(f, "violation: {v}")?;
        }
        if !self.violations.is_empty() {
            writeln!(f, "worker logs kept in {}", self.logs.display())?;
        }
        Ok(())
    }
}

/// Runs the load under `faults_asked` for `tier.fault_time`, lets it finish,
/// and checks every invariant.
pub async fn run(tier: &Tier, faults_asked: &[Fault]) -> Report {
    let began = Instant::now();
    let db = TestDatabase::create().await.unwrap_or_else(|e| panic!("{e}"));
    let url = db.url().to_string();
    let admin = connect_pool(&url).await;
    // The throwaway cluster runs with synchronous_commit=off, under which
    // a crash (`pg_ctl -m immediate`) loses the last commits it has
    // acknowledged: a database losing acknowledged writes, which no engine
    // on top can hide. A database-level setting overrides the server's
    // in every new session.
    sqlx::query(&format!("ALTER DATABASE \"{}\" SET synchronous_commit = on", db.name()))
        .execute(&admin)
        .await
        .expect("durable commits");
    admin.close().await;
    let pool = connect_pool(&url).await;
    let journal =
        PostgresJournal::connect_and_migrate(&with_application_name(&url, "fault-suite")).await.expect("connect");
    sqlx::query(CREATE_ORACLE).execute(&pool).await.expect("create the oracle table");
    let client = Runtime::builder()
        .journal(Arc::new(
            PostgresJournal::connect_and_migrate(&with_application_name(&url, "fault-client")).await.expect("connect"),
        ))
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(400), ..EngineConfig::default() })
        .start()
        .await
        .expect("the signalling runtime");
    let logs = std::env::temp_dir().join(format!("continuum-faults-{}-{}", std::process::id(), db.name()));
    std::fs::create_dir_all(&logs).expect("a log directory");

    // Starts are spread over most of the fault phase, so runs begin,
    // wait and finish while faults hit.
    let spread = tier.fault_time * 4 / 5;
    let first = tokio::time::Instant::now() + Duration::from_secs(1);
    let start_at_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis())
        .expect("ms since the epoch")
        + 1000;
    let spec = Spec { url: url.clone(), runs: tier.runs, start_at_ms, spread, run_lease: RUN_LEASE };
    let fleet = Arc::new(Mutex::new(Fleet::start(spec, tier.workers, &logs)));
    let supervisor = {
        let fleet = fleet.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                fleet.lock().expect("fleet").supervise();
            }
        })
    };
    let ledger = signals::Ledger::default();
    let sender =
        Sender { client: client.clone(), journal: journal.clone(), pool: pool.clone(), ledger: ledger.clone() };
    let mut sending = sender.spawn(tier.runs, first, spread, tier.seed);
    let injectors = Arc::new(Injectors {
        fleet: fleet.clone(),
        url: url.clone(),
        run_lease: RUN_LEASE,
        counts: inject::Counts::default(),
        stop: AtomicBool::new(false),
    });
    let injecting = inject::start(faults_asked, &injectors, tier.seed);

    tokio::time::sleep(tier.fault_time).await;
    injectors.stop.store(true, Ordering::SeqCst);
    for injector in injecting {
        injector.await.expect("an injector failed");
    }
    let fault_phase = began.elapsed();
    fleet.lock().expect("fleet").heal();

    let settling = Instant::now();
    let stuck = settle(&pool, tier, &mut sending).await;
    let settle_time = settling.elapsed();
    supervisor.abort();
    let unexpected_exits = {
        let mut fleet = fleet.lock().expect("fleet");
        fleet.stop();
        std::mem::take(&mut fleet.unexpected_exits)
    };

    let checking = Instant::now();
    let sent = ledger.lock().expect("ledger").clone();
    let mut checked = invariants::check(&journal, &pool, tier.runs, &sent).await;
    checked.violations.extend(stuck);
    let found = read_logs(&logs);
    checked.violations.extend(unexpected_exits.iter().map(|e| format!("no worker exits on its own: {e}")));
    checked.violations.extend(found.panics.iter().map(|p| format!("no worker panics: {p}")));
    checked.figures.push(("worker restarts after an exit nobody caused", unexpected_exits.len() as u64));
    checked.figures.push(("runs a worker found taken over at renewal (log)", found.leases_lost));
    checked.figures.push(("stale writes rejected by fencing (log)", found.stale_writes));
    let faults = injectors.counts.lock().expect("counts").clone();
    let report = Report {
        tier: tier.clone(),
        requested: faults_asked.to_vec(),
        faults,
        figures: checked.figures,
        durations: vec![
            ("fault phase (from the database's creation)", fault_phase),
            ("settling after the faults stopped", settle_time),
            ("checking", checking.elapsed()),
            ("total", began.elapsed()),
        ],
        violations: checked.violations,
        logs: logs.clone(),
    };
    if report.violations.is_empty() {
        let _ = std::fs::remove_dir_all(&logs);
    } else {
        dump_tables(&pool, &logs).await;
    }
    drop(client);
    drop(journal);
    pool.close().await;
    db.drop_database().await.expect("drop the test database");
    report
}

/// Waits until the signals are sent, every planned run has started and no
/// run is running; past `tier.settle_within`, gives up and returns the
/// violation.
async fn settle(pool: &PgPool, tier: &Tier, sending: &mut tokio::task::JoinSet<()>) -> Option<String> {
    let settling = Instant::now();
    loop {
        while let Some(sent) = sending.try_join_next() {
            sent.expect("a signal sender failed");
        }
        if sending.is_empty() && quiet(pool, tier.runs).await {
            return None;
        }
        if settling.elapsed() > tier.settle_within {
            sending.abort_all();
            return Some(format!(
                "no run stuck: the load had not finished {} s after the faults stopped ({} chains still being \
                 signalled)",
                tier.settle_within.as_secs(),
                sending.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn connect_pool(url: &str) -> PgPool {
    // The oracle table is in public, the journal's tables in its schema.
    let options: sqlx::postgres::PgConnectOptions =
        with_application_name(url, "fault-suite").parse().expect("a database URL");
    PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.options([("search_path", "public,continuum")]))
        .await
        .expect("connect the test's pool")
}

/// Every planned run started, and no run still running.
async fn quiet(pool: &PgPool, runs: u32) -> bool {
    let counts: Result<(i64, i64), _> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE continued_from IS NULL AND parent_id IS NULL), \
         count(*) FILTER (WHERE status = 'running') FROM continuum_runs",
    )
    .fetch_one(pool)
    .await;
    matches!(counts, Ok((roots, running)) if roots == i64::from(runs) && running == 0)
}

/// Writes the journal and oracle tables, a row a line as JSON, beside the
/// worker logs: the evidence of a violation outlives the test database.
async fn dump_tables(pool: &PgPool, dir: &std::path::Path) {
    for table in ["continuum_runs", "continuum_events", "continuum_tasks", "continuum_signals", "fault_oracle"] {
        let sql = format!("SELECT row_to_json(t)::text FROM {table} t");
        if let Ok(rows) = sqlx::query_scalar::<_, String>(&sql).fetch_all(pool).await {
            let _ = std::fs::write(dir.join(format!("{table}.jsonl")), rows.join("\n"));
        }
    }
}
