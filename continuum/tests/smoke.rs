//! Smoke test: a workflow runs end to end on the tokio runtime.

use std::time::Duration;

use continuum::prelude::*;

#[activity(retry(max_attempts = 3, initial = "10ms"))]
async fn double(n: u32) -> Result<u32, ActivityError> {
    Ok(n * 2)
}

#[workflow]
async fn two_steps(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    let a = ctx.activity(double, n).await?;
    ctx.sleep(millis(20)).await;
    let b = ctx.activity(double, a).await?;
    Ok(b)
}

#[tokio::test]
async fn runs_to_completion() {
    let rt = Runtime::builder().workflow(two_steps).activity(double).start().await.unwrap();
    let h = rt.start(two_steps, 5, StartOptions::default()).await.unwrap();
    assert_eq!(h.result(Duration::from_secs(5)).await.unwrap(), 20);
    let hist = rt.history(h.id()).await.unwrap();
    let kinds: Vec<_> = hist.iter().map(|e| e.event.type_name()).collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "activity_scheduled",
            "activity_completed",
            "timer_started",
            "timer_fired",
            "activity_scheduled",
            "activity_completed",
            "run_completed"
        ]
    );
}
