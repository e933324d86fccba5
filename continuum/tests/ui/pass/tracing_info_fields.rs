// `tracing::info!` with fields is allowed (the macro makes it replay-safe).
use continuum::prelude::*;

#[workflow]
async fn charged(ctx: &WorkflowContext, order: String) -> Result<String, WorkflowError> {
    let amount = 1580u64;
    tracing::info!(order = %order, amount, "charged");
    ctx.sleep(seconds(1)).await;
    Ok(order)
}

fn main() {}
