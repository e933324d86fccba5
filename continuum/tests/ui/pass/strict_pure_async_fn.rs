// a `#[pure] async fn` helper may be awaited from a `#[workflow(strict)]`.
use continuum::prelude::*;

#[pure]
async fn double(x: u32) -> u32 {
    x * 2
}

#[workflow(strict)]
async fn doubled(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    ctx.sleep(seconds(1)).await;
    Ok(double(n).await)
}

fn main() {}
