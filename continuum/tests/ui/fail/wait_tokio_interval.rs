// `tokio::time::interval` ticks on real time.
use continuum::prelude::*;

#[workflow]
async fn nap(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _tick = tokio::time::interval(std::time::Duration::from_secs(1));
    Ok(())
}

fn main() {}
