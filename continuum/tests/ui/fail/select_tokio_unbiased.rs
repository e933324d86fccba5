// `tokio::select!` without `biased;` picks a random ready branch.
use continuum::prelude::*;

#[workflow]
async fn raced(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    tokio::select! {
        _ = ctx.sleep(seconds(1)) => {}
        _ = ctx.sleep(seconds(2)) => {}
    }
    Ok(())
}

fn main() {}
