//! Live runs stay in memory between wakes (no replay on the hot path);
//! runs evicted to respect the live-run bound are replayed when next
//! needed and finish with the same results.

use std::time::Duration;

use continuum::EngineConfig;
use continuum::prelude::*;
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
async fn nap_then_count(ctx: &WorkflowContext, target: u64) -> Result<u64, WorkflowError> {
    ctx.sleep(minutes(1)).await;
    let mut n = 0;
    while n < target {
        n = ctx.activity(inc, n).await?;
        ctx.sleep(minutes(1)).await;
    }
    Ok(n)
}

#[tokio::test]
async fn a_live_run_is_never_replayed_while_it_stays_in_memory() {
    let rt = Runtime::builder().workflow(count_to).activity(inc).start().await.unwrap();
    let run = rt.start(count_to, 200, StartOptions::default()).await.unwrap();
    assert_eq!(run.result(Duration::from_secs(10)).await.unwrap(), 200);
    let stats = rt.stats().await.unwrap();
    assert_eq!(stats.runs_replayed, 0);
    assert_eq!(stats.events_replayed, 0);
    assert_eq!(rt.history(run.id()).await.unwrap().len(), 2 + 2 * 200);
}

#[test]
fn evicted_runs_are_replayed_on_their_next_wake_and_finish() {
    let mut env = TestEnv::builder()
        .workflow(nap_then_count)
        .activity(inc)
        .engine_config(EngineConfig { max_live_runs: 1, ..EngineConfig::default() })
        .paranoid(true)
        .build();
    let runs: Vec<_> = (1..=3).map(|n| env.start(nap_then_count, n)).collect();
    for _ in 0..5 {
        env.advance(minutes(1));
    }
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(env.result(run).unwrap().unwrap(), i as u64 + 1);
    }
    let stats = env.engine().stats();
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(stats.runs_replayed > 0, "{stats:?}");
}
