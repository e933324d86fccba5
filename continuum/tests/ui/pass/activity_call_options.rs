// per-call activity options: retry policy, attempts, timeout, idempotency key.
use continuum::prelude::*;

#[activity]
async fn charge(cents: u64) -> Result<u64, ActivityError> {
    Ok(cents)
}

#[workflow]
async fn charged(ctx: &WorkflowContext, cents: u64) -> Result<u64, WorkflowError> {
    let a = ctx.activity(charge, cents).max_attempts(2).timeout(seconds(5)).idempotency_key("charge-1").await?;
    let b = ctx.activity(charge, cents).retry(RetryPolicy::default().max_attempts(4)).await?;
    let c = ctx.activity(charge, cents).retry(RetryPolicy::none()).await?;
    Ok(a + b + c)
}

fn main() {}
