//! The worker process of the two-process example: hosts the onboarding
//! workflow and its activities on PostgreSQL until SIGTERM or Ctrl-C,
//! then shuts down gracefully — running activities get 10 s to finish,
//! and every run it holds is handed to the other workers at once.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1/postgres cargo run -p continuum-examples --bin onboarding_worker
//! ```
//!
//! Start several: runs are shared between them, and a worker that stops
//! (gracefully or not) leaves its runs to the others.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use continuum::prelude::*;
use continuum_examples::onboarding::{create_account, onboard, send_mail};
use continuum_postgres::{PostgresJournal, PostgresOptions};

/// Serves onboarding runs until told to stop.
#[derive(Debug, Parser)]
struct Args {
    /// The database.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1/postgres")]
    database_url: String,
    /// How long running activities may take to finish at shutdown.
    #[arg(long, default_value_t = 10)]
    grace_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    continuum_examples::log_to_stderr();
    let args = Args::parse();
    // The journal's tables go in their own schema (`continuum`), beside
    // whatever the application keeps in `public`.
    let journal = PostgresJournal::connect_with(
        PostgresOptions::new(&args.database_url).migrate(true).retry_for(Duration::from_secs(30)),
    )
    .await?;
    let runtime = Runtime::builder()
        .journal(Arc::new(journal))
        .workflow(onboard)
        .activity(create_account)
        .activity(send_mail)
        .start()
        .await?;
    tracing::info!(pid = std::process::id(), "onboarding worker ready");

    stop_requested().await?;
    tracing::info!("stopping: finishing running activities, then handing runs over");
    let report = runtime.shutdown(Duration::from_secs(args.grace_secs)).await?;
    tracing::info!(
        attempts_finished = report.attempts_finished,
        tasks_released = report.tasks_released,
        runs_released = report.runs_released,
        "stopped"
    );
    Ok(())
}

/// Waits for SIGTERM (what orchestrators send) or Ctrl-C.
async fn stop_requested() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => {}
            r = tokio::signal::ctrl_c() => r?,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
