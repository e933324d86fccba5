// `warn!` after an in-body `use tracing::warn;` is allowed.
use continuum::prelude::*;

#[workflow]
async fn retried(ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use tracing::warn;
    warn!("slow path taken");
    ctx.sleep(seconds(1)).await;
    warn!(attempt = 2, "retrying");
    Ok(())
}

fn main() {}
