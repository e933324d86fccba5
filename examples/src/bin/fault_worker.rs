//! A worker process of the fault suite (`examples/tests/fault_*.rs`): it
//! serves the workload of `continuum_examples::workload` on PostgreSQL and
//! starts its share of the load's runs — run `i` is started by worker
//! `i % workers`, at `start_at_ms + i * spread_ms / runs` — then serves
//! until it is killed. A restarted worker starts its runs again from the
//! first; those already started are refused as duplicates and skipped, so
//! a worker killed mid-way loses no start.
//!
//! ```sh
//! fault_worker postgres://postgres@127.0.0.1/continuum --index 0 --workers 3 --runs 200 \
//!     --start-at-ms "$(date +%s%3N)" --spread-ms 30000
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Parser;
use continuum::prelude::*;
use continuum::{EngineConfig, StartError, WorkerConfig};
use continuum_examples::workload::{install_oracle, plan};
use continuum_postgres::{PostgresJournal, PostgresOptions};
use sqlx::postgres::PgPoolOptions;

/// Command line.
#[derive(Debug, Parser)]
struct Args {
    /// The database (the oracle table must exist in it).
    url: String,
    /// This worker's number, from 0.
    #[arg(long)]
    index: u32,
    /// Workers sharing the load.
    #[arg(long)]
    workers: u32,
    /// Runs in the load.
    #[arg(long)]
    runs: u32,
    /// When run 0 is due, in milliseconds since the Unix epoch.
    #[arg(long)]
    start_at_ms: u64,
    /// Over how long the starts are spread, in milliseconds.
    #[arg(long, default_value_t = 0)]
    spread_ms: u64,
    /// Run lease: how long a run stays this worker's without a renewal.
    #[arg(long, default_value_t = 2000)]
    run_lease_ms: u64,
    /// How often run leases are renewed.
    #[arg(long, default_value_t = 400)]
    renew_ms: u64,
    /// Task lease: how long an activity attempt stays this worker's
    /// without a heartbeat.
    #[arg(long, default_value_t = 2000)]
    task_lease_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    continuum_examples::log_to_stderr();
    let args = Args::parse();
    anyhow::ensure!(args.workers > 0 && args.index < args.workers, "--index must be below --workers");
    // The database may be restarting when this process starts.
    let options = PostgresOptions::new(&args.url)
        .retry_for(Duration::from_secs(120))
        .run_lease(Duration::from_millis(args.run_lease_ms))
        .migrate(true);
    let mut tries = 0;
    let journal = loop {
        match PostgresJournal::connect_with(options.clone()).await {
            Ok(journal) => break journal,
            Err(e) => {
                tries += 1;
                anyhow::ensure!(tries < 60, "connecting and migrating failed {tries} times: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    install_oracle(
        PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&args.url)
            .context("the oracle pool")?,
    );
    let runtime = continuum_examples::workload::register(Runtime::builder())
        .journal(Arc::new(journal))
        .worker_config(WorkerConfig {
            task_lease: Duration::from_millis(args.task_lease_ms),
            ..WorkerConfig::default()
        })
        .engine_config(EngineConfig { lease_renewal: Duration::from_millis(args.renew_ms), ..EngineConfig::default() })
        .start()
        .await?;

    let workers = usize::try_from(args.workers)?;
    for index in (args.index..args.runs).step_by(workers) {
        let due = args.start_at_ms + args.spread_ms * u64::from(index) / u64::from(args.runs);
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
        if let Some(wait) = u128::from(due).checked_sub(now) {
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait)?)).await;
        }
        let planned = plan(index);
        // A start whose answer was lost may have happened: trying again
        // is then refused as a duplicate, which is as good as done.
        loop {
            match planned.start(&runtime).await {
                Ok(_) | Err(StartError::DuplicateWorkflowId { .. }) => break,
                Err(e) => {
                    tracing::warn!(workflow_id = %planned.workflow_id, error = %e, "start failed; trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    std::future::pending().await
}
