//! A worker process on the PostgreSQL journal, used by the kill tests
//! (`examples/tests/kill_worker.rs`) and handy for trying durability by
//! hand:
//!
//! ```sh
//! pg_worker postgres://postgres@127.0.0.1/continuum start order-1   # starts the run and works on it
//! pg_worker postgres://postgres@127.0.0.1/continuum finish order-1  # works until order-1 ends, prints it
//! pg_worker postgres://postgres@127.0.0.1/continuum start-timed order-2  # the same with a 4 s timer
//! pg_worker postgres://postgres@127.0.0.1/continuum serve -          # works on whatever is there, forever
//! pg_worker postgres://postgres@127.0.0.1/continuum start-many 0-500  # starts bulk-0 … bulk-499, then serves
//! pg_worker postgres://postgres@127.0.0.1/continuum start-timed-many 500-1000  # the same with 4 s timers
//! pg_worker postgres://postgres@127.0.0.1/continuum start-batch batch-1  # a parent with 3 slow children
//! ```
//!
//! `CONTINUUM_RUN_LEASE_MS` and `CONTINUUM_RENEW_MS` shorten the run lease
//! and its renewal, so tests see orphaned runs adopted quickly.
//!
//! The workflows are in `continuum_examples::orders`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use continuum::prelude::*;
use continuum::{EngineConfig, Journal, RunOutcome, WorkerConfig};
use continuum_examples::batch::ship_batch_slowly;
use continuum_examples::orders::{reserve, ship, ship_order, timed_order};
use continuum_postgres::{PostgresJournal, PostgresOptions};

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    continuum_examples::log_to_stderr();
    let args: Vec<String> = std::env::args().collect();
    let [_, url, mode, workflow_id] = args.as_slice() else {
        anyhow::bail!(
            "usage: pg_worker <database-url> start|start-timed|start-batch|finish <workflow-id> | serve - \
             | start-many|start-timed-many <n>|<from>-<to>"
        );
    };
    // A worker may start before its database: keep trying for a minute.
    let journal = PostgresJournal::connect_with(
        PostgresOptions::new(url)
            .retry_for(Duration::from_secs(60))
            .run_lease(env_ms("CONTINUUM_RUN_LEASE_MS", 30_000))
            .migrate(true),
    )
    .await?;
    let journal = Arc::new(journal);
    let runtime = Runtime::builder()
        .journal(journal.clone())
        .workflow(ship_order)
        .workflow(timed_order)
        .workflow(ship_batch_slowly)
        .activity(reserve)
        .activity(ship)
        // A short task lease, so a killed worker's activity is rescued fast.
        .worker_config(WorkerConfig { task_lease: Duration::from_secs(2), ..WorkerConfig::default() })
        .engine_config(EngineConfig { lease_renewal: env_ms("CONTINUUM_RENEW_MS", 5_000), ..EngineConfig::default() })
        .start()
        .await?;
    let run = match mode.as_str() {
        "start" => runtime.start(ship_order, workflow_id.clone(), StartOptions::id(workflow_id.clone())).await?.id(),
        "start-timed" => {
            runtime.start(timed_order, workflow_id.clone(), StartOptions::id(workflow_id.clone())).await?.id()
        }
        "serve" => std::future::pending().await,
        "start-batch" => {
            let orders = vec![format!("{workflow_id}-a"), format!("{workflow_id}-bb"), format!("{workflow_id}-ccc")];
            let run = runtime.start(ship_batch_slowly, orders, StartOptions::id(workflow_id.clone())).await?.id();
            println!("started={run}");
            run
        }
        "start-many" | "start-timed-many" => {
            let (from, to) = match workflow_id.split_once('-') {
                Some((from, to)) => (from.parse()?, to.parse()?),
                None => (0, workflow_id.parse::<u32>().context("start-many takes a count or a range")?),
            };
            for i in from..to {
                let id = format!("bulk-{i}");
                if mode == "start-many" {
                    runtime.start(ship_order, id.clone(), StartOptions::id(id)).await?;
                } else {
                    runtime.start(timed_order, id.clone(), StartOptions::id(id)).await?;
                }
            }
            println!("started={}", to - from);
            std::future::pending().await
        }
        "finish" => journal.find_workflow_id(workflow_id).await?.context("no run with that workflow id")?.id,
        other => anyhow::bail!("unknown mode `{other}`"),
    };
    let outcome = runtime.await_outcome(run, Duration::from_secs(120)).await?;
    let RunOutcome::Completed(output) = outcome else { anyhow::bail!("run ended as {outcome:?}") };
    println!("result={}", output.as_json());
    let history = journal.history(run).await?;
    let kinds: Vec<_> = history.iter().map(|e| e.event.type_name()).collect();
    println!("history={}", kinds.join(","));
    let attempts: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.event {
            continuum::Event::ActivityCompleted { attempts, .. } => Some(attempts.to_string()),
            _ => None,
        })
        .collect();
    println!("attempts={}", attempts.join(","));
    Ok(())
}
