//! Applies the journal's migrations to a PostgreSQL database, or checks
//! that they are applied — for a deploy step that runs before the
//! workers start (the workers then connect without migrating).
//!
//! ```sh
//! cargo run -p continuum-examples --bin continuum_migrate -- postgres://app@db/app
//! cargo run -p continuum-examples --bin continuum_migrate -- postgres://app@db/app --schema jobs --check
//! ```
//!
//! Exit status 0: the schema is current; 1: it is not (with `--check`) or
//! applying failed; the message says why.

use clap::Parser;
use continuum_postgres::{DEFAULT_SCHEMA, PostgresError, PostgresJournal, PostgresOptions};

/// Applies (or checks) the Continuum journal's schema.
#[derive(Debug, Parser)]
struct Args {
    /// The database, as `postgres://user:password@host:port/db`.
    database_url: String,
    /// The schema the journal's tables live in.
    #[arg(long, default_value = DEFAULT_SCHEMA)]
    schema: String,
    /// Only check that every migration is applied; change nothing.
    #[arg(long)]
    check: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = PostgresOptions::new(&args.database_url).schema(&args.schema);
    if !args.check {
        continuum_postgres::migrate(&options).await?;
    }
    match PostgresJournal::connect_with(options).await {
        Ok(_) => {
            let latest = continuum_postgres::MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default();
            println!("schema `{}` is current (migration {latest})", args.schema);
            Ok(())
        }
        Err(e @ PostgresError::NotMigrated { .. }) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
        Err(e) => Err(e.into()),
    }
}
