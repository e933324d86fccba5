//! Throughput and latency of Continuum on PostgreSQL, in one process:
//! N workflows × K sequential activities, C runs in flight.
//!
//! ```sh
//! cargo run --release -p continuum-examples --bin pg_bench -- \
//!     --database-url postgres://postgres@127.0.0.1/postgres --workflows 1000 --activities 5 --concurrency 100
//! ```
//!
//! It creates a fresh database on that server (and drops it after), so it
//! never touches existing data. Printed: workflows/s, activity steps/s,
//! commits per step (from `pg_stat_database.xact_commit`), p50/p99 of
//! start → first activity running and of activity finished → next
//! activity running, and the cost per event of reading histories back
//! from the database and of replaying them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use continuum::prelude::*;
use continuum::{EngineConfig, ErasedWorkflow, Journal};
use continuum_postgres::PostgresJournal;
use sqlx::Connection;

#[derive(Parser)]
struct Args {
    /// A PostgreSQL server to create the bench database on.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Workflows to run (N).
    #[arg(long, default_value_t = 1000)]
    workflows: u64,
    /// Sequential activities per workflow (K).
    #[arg(long, default_value_t = 5)]
    activities: u32,
    /// Workflows in flight at once (C).
    #[arg(long, default_value_t = 100)]
    concurrency: usize,
    /// Journal commits in flight at once (`EngineConfig::max_in_flight`).
    #[arg(long)]
    in_flight: Option<usize>,
    /// Most runs per journal commit (`EngineConfig::max_batch`).
    #[arg(long)]
    max_batch: Option<usize>,
}

/// When each activity attempt started and finished, by (workflow, step).
type Marks = Mutex<BTreeMap<(u64, u32), (Instant, Instant)>>;

fn marks() -> &'static Marks {
    static MARKS: OnceLock<Marks> = OnceLock::new();
    MARKS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

#[activity(retry(max_attempts = 3, initial = "50ms"))]
async fn step(input: (u64, u32)) -> Result<u32, ActivityError> {
    let started = Instant::now();
    let out = input.1 + 1;
    marks().lock().unwrap_or_else(PoisonError::into_inner).insert(input, (started, Instant::now()));
    Ok(out)
}

#[workflow]
async fn bench_flow(ctx: &WorkflowContext, input: (u64, u32)) -> Result<u32, WorkflowError> {
    let (id, k) = input;
    let mut i = 0;
    while i < k {
        i = ctx.activity(step, (id, i)).await?;
    }
    Ok(i)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

async fn commits(journal: &PostgresJournal) -> anyhow::Result<i64> {
    // Other backends flush their statistics about once a second when idle.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(journal.pool())
        .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let name = format!("continuum_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&args.database_url).await.context("connect to the server")?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).await?;
    let result = run(&args, &continuum_examples::with_database(&args.database_url, &name)).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).await?;
    result
}

async fn run(args: &Args, url: &str) -> anyhow::Result<()> {
    let journal = PostgresJournal::connect_and_migrate(url).await?;
    let journal = Arc::new(journal);
    let defaults = EngineConfig::default();
    let engine = EngineConfig {
        max_in_flight: args.in_flight.unwrap_or(defaults.max_in_flight),
        max_batch: args.max_batch.unwrap_or(defaults.max_batch),
        ..defaults
    };
    let runtime = Arc::new(
        Runtime::builder()
            .journal(journal.clone())
            .engine_config(engine)
            .workflow(bench_flow)
            .activity(step)
            .start()
            .await?,
    );
    let before = commits(&journal).await?;
    let started_at: Arc<Mutex<BTreeMap<u64, Instant>>> = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..args.workflows {
        let permit = gate.clone().acquire_owned().await?;
        let (runtime, started_at, k) = (runtime.clone(), started_at.clone(), args.activities);
        tasks.spawn(async move {
            started_at.lock().unwrap_or_else(PoisonError::into_inner).insert(id, Instant::now());
            let run = runtime.start(bench_flow, (id, k), StartOptions::id(format!("bench-{id}"))).await?;
            let out = run.result(Duration::from_secs(300)).await?;
            drop(permit);
            anyhow::ensure!(out == k, "workflow {id} returned {out}");
            Ok::<_, anyhow::Error>(run.id())
        });
    }
    let mut runs = Vec::new();
    while let Some(done) = tasks.join_next().await {
        runs.push(done??);
    }
    let elapsed = t0.elapsed();
    let after = commits(&journal).await?;

    let steps = args.workflows * u64::from(args.activities);
    let marks = marks().lock().unwrap_or_else(PoisonError::into_inner).clone();
    let started_at = started_at.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut first: Vec<Duration> =
        started_at.iter().filter_map(|(id, t)| marks.get(&(*id, 0)).map(|(s, _)| s.duration_since(*t))).collect();
    let mut next: Vec<Duration> = marks
        .iter()
        .filter_map(|((id, i), (_, end))| marks.get(&(*id, i + 1)).map(|(s, _)| s.duration_since(*end)))
        .collect();
    first.sort();
    next.sort();

    // Replay: read histories back and run them through the workflow code;
    // the read (one query per run) and the replay are timed apart.
    let sample: Vec<_> = runs.iter().take(200).copied().collect();
    let workflow = ErasedWorkflow::of::<bench_flow>();
    let mut events = 0usize;
    let (mut read, mut replay) = (Duration::ZERO, Duration::ZERO);
    for run in &sample {
        let t = Instant::now();
        let history = journal.history(*run).await?;
        read += t.elapsed();
        events += history.len();
        let t = Instant::now();
        continuum::engine::replay_history(&workflow, *run, history).map_err(|e| anyhow::anyhow!("{e}"))?;
        replay += t.elapsed();
    }

    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!(
        "| N={} K={} C={} (commits in flight ≤ {}, ≤ {} runs each) | value |",
        args.workflows, args.activities, args.concurrency, engine.max_in_flight, engine.max_batch
    );
    println!("|---|---|");
    println!("| wall time | {:.2} s |", elapsed.as_secs_f64());
    println!("| workflows/s | {:.0} |", args.workflows as f64 / elapsed.as_secs_f64());
    println!("| activity steps/s | {:.0} |", steps as f64 / elapsed.as_secs_f64());
    println!("| commits per step | {:.2} |", (after - before) as f64 / steps as f64);
    println!(
        "| start → first activity p50 / p99 | {} / {} |",
        ms(percentile(&first, 0.5)),
        ms(percentile(&first, 0.99))
    );
    println!(
        "| activity done → next activity running p50 / p99 | {} / {} |",
        ms(percentile(&next, 0.5)),
        ms(percentile(&next, 0.99))
    );
    println!(
        "| replay from the database ({} runs, {events} events): read + replay | {:.2} + {:.2} µs/event |",
        sample.len(),
        read.as_secs_f64() * 1e6 / events.max(1) as f64,
        replay.as_secs_f64() * 1e6 / events.max(1) as f64
    );
    Ok(())
}
