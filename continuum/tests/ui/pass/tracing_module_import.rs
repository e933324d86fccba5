// `info!` and `error!` imported at file level (`use tracing::{error, info};`) are allowed.
use continuum::prelude::*;
use tracing::{error, info};

#[workflow]
async fn logged(ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    info!(n, "starting");
    ctx.sleep(seconds(1)).await;
    if n == 0 {
        error!("nothing to do");
    }
    Ok(n)
}

fn main() {}
