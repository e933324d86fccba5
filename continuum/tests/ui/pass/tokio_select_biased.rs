// `tokio::select! { biased; … }` polls in order, so it is deterministic and allowed.
use continuum::prelude::*;

#[workflow]
async fn raced(ctx: &WorkflowContext, _: ()) -> Result<u8, WorkflowError> {
    let fired: u8 = tokio::select! {
        biased;
        _ = ctx.sleep(seconds(1)) => 1,
        _ = ctx.sleep(seconds(2)) => 2,
    };
    Ok(fired)
}

fn main() {}
