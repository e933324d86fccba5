//! The client process of the two-process example: hosts nothing, and
//! starts, signals, cancels and reads onboarding runs that the workers
//! (`onboarding_worker`) run. It exits as soon as its call is answered:
//! a run it starts is never stalled waiting for it.
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1/postgres
//! cargo run -p continuum-examples --bin onboarding_client -- start ada ada@example.com
//! cargo run -p continuum-examples --bin onboarding_client -- verify ada 123456
//! cargo run -p continuum-examples --bin onboarding_client -- result ada
//! cargo run -p continuum-examples --bin onboarding_client -- describe ada
//! ```

use std::time::Duration;

use clap::{Parser, Subcommand};
use continuum::prelude::*;
use continuum::{Client, RunOutcome};
use continuum_examples::onboarding::{Customer, Onboarded, Verification, onboard, workflow_id};
use continuum_postgres::PostgresJournal;

/// Starts and drives onboarding runs.
#[derive(Debug, Parser)]
struct Args {
    /// The database.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1/postgres")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts onboarding a customer (refused while one is running for them).
    Start { customer: String, email: String },
    /// Starts `n` onboardings (customers `bulk-0` …) and exits at once.
    StartMany { n: u32 },
    /// Sends the `verified` signal.
    Verify { customer: String, code: String },
    /// Waits up to `--wait-secs` for the result.
    Result {
        customer: String,
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
    /// Prints the run's status and history.
    Describe { customer: String },
    /// Cancels the run.
    Cancel { customer: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let journal = PostgresJournal::connect(&args.database_url).await?;
    let client = Client::new(std::sync::Arc::new(journal));
    match args.command {
        Command::Start { customer, email } => {
            let run = client
                .start(onboard, Customer { id: customer.clone(), email }, StartOptions::id(workflow_id(&customer)))
                .await?;
            println!("started {} (run {})", workflow_id(&customer), run.id());
        }
        Command::StartMany { n } => {
            for i in 0..n {
                let id = format!("bulk-{i}");
                let email = format!("{id}@example.com");
                client.start(onboard, Customer { id: id.clone(), email }, StartOptions::id(workflow_id(&id))).await?;
            }
            println!("started {n} runs");
        }
        Command::Verify { customer, code } => {
            client.signal(workflow_id(&customer), "verified", &Verification { code }).await?;
            println!("signalled {}", workflow_id(&customer));
        }
        Command::Result { customer, wait_secs } => {
            let outcome = client.await_outcome(workflow_id(&customer), Duration::from_secs(wait_secs)).await?;
            match outcome {
                RunOutcome::Completed(out) => println!("{:?}", out.decode::<Onboarded>()?),
                other => println!("{other:?}"),
            }
        }
        Command::Describe { customer } => {
            let info = client.get_run(workflow_id(&customer)).await?;
            println!(
                "{} run {} of `{}`: {:?}, started {}",
                info.workflow_id, info.id, info.workflow, info.status, info.started_at
            );
            for event in client.history(info.id).await?.iter() {
                println!("  {:>3} {} {}", event.seq, event.at.format("%H:%M:%S%.3f"), event.event.type_name());
            }
        }
        Command::Cancel { customer } => {
            client.cancel(workflow_id(&customer), Some("cancelled from the client".into())).await?;
            println!("cancelled {}", workflow_id(&customer));
        }
    }
    Ok(())
}
