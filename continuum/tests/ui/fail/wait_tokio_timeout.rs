// `tokio::time::timeout` around a durable timer still races real time.
use continuum::prelude::*;

#[workflow]
async fn nap(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ctx.sleep(seconds(2))).await;
    Ok(())
}

fn main() {}
