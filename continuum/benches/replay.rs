//! Replay cost and per-wake cost, printed as one table.
//!
//! `cargo bench -p continuum --bench replay`
//!
//! - replay: a finished history of ~10,000 events replayed through the
//!   workflow's code (what a crash or an eviction costs), in µs/event;
//! - wake: one timer wake of a live run (deliver, poll, journal the next
//!   command) as the run's history grows from 10 to 10,000 events — it
//!   must stay flat, because live runs are never replayed.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum::prelude::*;
use continuum::{ErasedWorkflow, HistoryEvent, RunId};
use continuum_testkit::TestEnv;

#[activity]
async fn inc(n: u64) -> Result<u64, ActivityError> {
    Ok(n + 1)
}

#[workflow]
async fn count_to(ctx: &WorkflowContext, target: u64) -> Result<u64, WorkflowError> {
    let mut n = 0;
    while n < target {
        n = ctx.activity(inc, n).await?;
    }
    Ok(n)
}

#[workflow]
async fn mixed(ctx: &WorkflowContext, rounds: u64) -> Result<u64, WorkflowError> {
    let mut n = 0;
    for _ in 0..rounds {
        n = ctx.activity(inc, n).await?;
        let _ = ctx.now();
        let _ = ctx.uuid4();
        ctx.sleep(seconds(1)).await;
    }
    Ok(n)
}

#[workflow]
async fn ticker(ctx: &WorkflowContext, _unused: ()) -> Result<(), WorkflowError> {
    loop {
        ctx.sleep(seconds(1)).await;
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn record<W: continuum::Workflow>(env: &mut TestEnv, run: RunId, advance: usize) -> Arc<[HistoryEvent]> {
    for _ in 0..advance {
        env.advance(seconds(1));
    }
    let _ = std::marker::PhantomData::<W>;
    env.history(run).into()
}

fn replay_row(name: &str, workflow: &ErasedWorkflow, run: RunId, history: &Arc<[HistoryEvent]>) {
    let samples: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let r = continuum::engine::replay_history(workflow, run, black_box(history.clone()));
            let elapsed = t.elapsed();
            assert!(r.is_ok(), "{r:?}");
            elapsed
        })
        .collect();
    let m = median(samples);
    let per_event = m.as_secs_f64() * 1e6 / history.len() as f64;
    println!(
        "| replay: {name:<26} | {:>7} events | {:>10.1} µs | {per_event:>7.3} µs/event  |",
        history.len(),
        m.as_secs_f64() * 1e6
    );
}

fn main() {
    println!("| measurement                        |           size |        median |          per unit |");
    println!("|------------------------------------|----------------|---------------|-------------------|");

    let mut env = TestEnv::builder().workflow(count_to).workflow(mixed).activity(inc).build();
    let run = env.start(count_to, 5_000);
    let history = record::<count_to>(&mut env, run.id(), 0);
    replay_row("activities", &ErasedWorkflow::of::<count_to>(), run.id(), &history);

    let run = env.start(mixed, 1_430);
    let history = record::<mixed>(&mut env, run.id(), 1_430);
    replay_row("activity+now+uuid+timer", &ErasedWorkflow::of::<mixed>(), run.id(), &history);

    for target in [10usize, 100, 1_000, 10_000, 100_000] {
        let mut env = TestEnv::builder().workflow(ticker).build();
        let run = env.start(ticker, ());
        // Each wake adds two events (timer fired, next timer started).
        for _ in 0..target / 2 {
            env.advance(seconds(1));
        }
        let len = env.history(run.id()).len();
        let wakes = 1_000;
        let samples: Vec<Duration> = (0..wakes)
            .map(|_| {
                let t = Instant::now();
                env.advance(seconds(1));
                t.elapsed()
            })
            .collect();
        let m = median(samples);
        assert_eq!(env.engine().stats().events_replayed, 0, "a live run must never be replayed");
        println!(
            "| wake of a live run                 | {len:>7} events | {:>10.1} µs | {:>7.3} µs/wake   |",
            m.as_secs_f64() * 1e6,
            m.as_secs_f64() * 1e6
        );
    }
}
