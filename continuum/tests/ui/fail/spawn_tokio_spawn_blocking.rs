// `tokio::task::spawn_blocking` starts work on a thread pool.
use continuum::prelude::*;

#[workflow]
async fn fan_out(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _h = tokio::task::spawn_blocking(|| ());
    Ok(())
}

fn main() {}
