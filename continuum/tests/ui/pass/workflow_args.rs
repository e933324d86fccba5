// `name = "…"` still works, alone and together with `strict`.
use continuum::prelude::*;

#[workflow(name = "orders.fulfil.v2")]
async fn fulfil_v2(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    ctx.sleep(seconds(1)).await;
    Ok(())
}

#[workflow(strict, name = "orders.audit")]
async fn audit(ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    Ok(ctx.random_u64())
}

fn main() {}
