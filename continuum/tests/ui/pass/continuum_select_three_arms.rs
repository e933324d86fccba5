// `continuum::select!` with three arms, `?` in an arm and a trailing comma.
use continuum::prelude::*;

#[activity]
async fn quote(sku: String) -> Result<u64, ActivityError> {
    Ok(sku.len() as u64)
}

#[workflow]
async fn priced(ctx: &WorkflowContext, sku: String) -> Result<u64, WorkflowError> {
    let price = continuum::select! {
        q = ctx.activity(quote, sku) => q?,
        manual = ctx.signal::<u64>("manual_price") => manual?,
        _ = ctx.sleep(minutes(5)) => 0,
    };
    Ok(price)
}

fn main() {}
