//! Adoption after a crash, measured: an owner process starts N runs that
//! each take one activity step and then park on a signal wait, and is
//! killed with SIGKILL; an adopter (this process) then takes every run
//! over once their leases lapse, loading and replaying each history.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1/postgres \
//!   cargo run --release -p continuum-examples --bin adoption_bench -- --runs 10000
//! ```
//!
//! Prints the time from the kill and from the lease lapse until every run
//! is live again, the replay cost per event including the fetch from
//! PostgreSQL, and the adopter's resident memory per run it holds.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use continuum::prelude::*;
use continuum::{EngineConfig, Journal};
use continuum_postgres::{PostgresJournal, PostgresOptions};
use sqlx::Connection;

#[derive(Debug, Parser)]
struct Args {
    /// A PostgreSQL server to create the bench database on.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Runs to adopt.
    #[arg(long, default_value_t = 10_000)]
    runs: u32,
    /// Activity steps each run takes before it parks (its history has
    /// 2 × steps + 2 events).
    #[arg(long, default_value_t = 1)]
    steps: u32,
    /// The run lease, in milliseconds: adoption starts once it lapses.
    #[arg(long, default_value_t = 2_000)]
    lease_ms: u64,
    /// Internal: run as the owner process on this database URL.
    #[arg(long, hide = true)]
    owner: Option<String>,
}

#[activity]
async fn step(n: u32) -> Result<u32, ActivityError> {
    Ok(n + 1)
}

/// `steps` activity steps, then a wait for a signal that never comes.
#[workflow]
async fn parked(ctx: &WorkflowContext, steps: u32) -> Result<u32, WorkflowError> {
    let mut n = 0;
    for _ in 0..steps {
        n = ctx.activity(step, n).await?;
    }
    let more: u32 = ctx.signal("wake").await?;
    Ok(n + more)
}

fn options(url: &str, lease_ms: u64) -> PostgresOptions {
    PostgresOptions::new(url).run_lease(Duration::from_millis(lease_ms)).max_connections(16)
}

fn engine(lease_ms: u64) -> EngineConfig {
    EngineConfig { lease_renewal: Duration::from_millis((lease_ms / 4).max(50)), ..EngineConfig::default() }
}

/// The owner: starts the runs, waits until each is parked, says so, and
/// waits to be killed.
async fn owner(url: &str, args: &Args) -> anyhow::Result<()> {
    let journal = Arc::new(PostgresJournal::connect_with(options(url, args.lease_ms)).await?);
    let runtime = Runtime::builder()
        .journal(journal.clone())
        .workflow(parked)
        .activity(step)
        .engine_config(engine(args.lease_ms))
        .start()
        .await?;
    let mut started = Vec::with_capacity(args.runs as usize);
    for chunk in (0..args.runs).collect::<Vec<_>>().chunks(500) {
        let starts = chunk.iter().map(|_| runtime.start(parked, args.steps, StartOptions::default()));
        for run in futures::future::join_all(starts).await {
            started.push(run?.id());
        }
    }
    // Parked: the step is journaled and the signal wait is open.
    loop {
        let waiting: i64 =
            sqlx::query_scalar("SELECT count(*) FROM continuum_events WHERE event::jsonb->>'type' = 'signal_awaited'")
                .fetch_one(journal.pool())
                .await?;
        if waiting >= i64::from(args.runs) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("parked={}", started.len());
    std::future::pending::<()>().await;
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

async fn adopt(url: &str, args: &Args) -> anyhow::Result<()> {
    continuum_postgres::migrate(&options(url, args.lease_ms)).await?;
    // The owner, in its own process.
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--database-url", &args.database_url, "--runs", &args.runs.to_string()])
        .args(["--lease-ms", &args.lease_ms.to_string(), "--steps", &args.steps.to_string(), "--owner", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let began = Instant::now();
    let out = child.stdout.take().context("owner stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(out).lines().map_while(Result::ok).find(|l| l.starts_with("parked="))
    })
    .await?;
    anyhow::ensure!(line.is_some(), "the owner exited before parking its runs");
    let setup = began.elapsed();
    child.kill()?;
    let killed = Instant::now();
    child.wait()?;

    let journal: Arc<dyn Journal> = Arc::new(PostgresJournal::connect_with(options(url, args.lease_ms)).await?);
    let rss_before = rss_kib();
    let adopter = Runtime::builder()
        .journal(journal.clone())
        .workflow(parked)
        .activity(step)
        .engine_config(EngineConfig { max_live_runs: args.runs as usize * 2, ..engine(args.lease_ms) })
        .start()
        .await?;
    let runs = u64::from(args.runs);
    let stats = loop {
        let stats = adopter.stats().await.context("adopter stats")?;
        if stats.runs_replayed >= runs {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let from_kill = killed.elapsed();
    let lapse = Duration::from_millis(args.lease_ms);
    let after_lapse = from_kill.saturating_sub(lapse);
    let rss_after = rss_kib();
    let per_event = after_lapse.as_secs_f64() * 1e6 / stats.events_replayed.max(1) as f64;
    println!("| measure | value |");
    println!("|---|---|");
    println!("| runs parked by the owner (set-up) | {} in {:.1} s |", args.runs, setup.as_secs_f64());
    println!("| run lease | {} ms |", args.lease_ms);
    println!("| events per history | {} |", 2 * args.steps + 2);
    println!("| every run live again, from the SIGKILL | {:.2} s |", from_kill.as_secs_f64());
    println!("| … from the lease lapse | {:.2} s |", after_lapse.as_secs_f64());
    println!("| runs / events replayed | {} / {} |", stats.runs_replayed, stats.events_replayed);
    println!("| adoption + replay per event, fetch included | {per_event:.1} µs |");
    println!(
        "| adopter RSS before / after | {} / {} MiB ({:.1} KiB per run) |",
        rss_before / 1024,
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before)) as f64 / f64::from(args.runs)
    );
    adopter.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(url) = &args.owner {
        return owner(url, &args).await;
    }
    let name = format!("continuum_adoption_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&args.database_url).await.context("connect to the server")?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).await?;
    let url = continuum_examples::with_database(&args.database_url, &name);
    let result = adopt(&url, &args).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).await?;
    result
}
