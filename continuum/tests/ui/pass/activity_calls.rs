// activities are called through `ctx.activity(…)`, and may be joined.
use continuum::prelude::*;

#[activity(retry(max_attempts = 3, initial = "10ms"), timeout = "5s")]
async fn reserve(sku: String) -> Result<String, ActivityError> {
    Ok(format!("reservation for {sku}"))
}

#[activity]
async fn price(sku: String) -> Result<u64, ActivityError> {
    Ok(sku.len() as u64 * 100)
}

#[workflow]
async fn checkout(ctx: &WorkflowContext, sku: String) -> Result<String, WorkflowError> {
    let reservation = ctx.activity(reserve, sku.clone()).await?;
    let (cents, again) = try_join(ctx.activity(price, sku.clone()), ctx.activity(reserve, sku)).await?;
    Ok(format!("{reservation} / {again} / {cents}"))
}

fn main() {}
