// biased `select` from `continuum::prelude` is deterministic.
use continuum::prelude::*;

#[workflow]
async fn picked(ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    let n = match select(ctx.signal::<u32>("n"), ctx.sleep(seconds(5))).await {
        Either::Left(n) => n?,
        Either::Right(()) => 0,
    };
    let m = match continuum::future::select(ctx.sleep(seconds(1)), ctx.signal::<u32>("m")).await {
        Either::Left(()) => 0,
        Either::Right(m) => m?,
    };
    Ok(n + m)
}

fn main() {}
