// `tokio::time::sleep` waits on real time instead of a durable timer.
use continuum::prelude::*;

#[workflow]
async fn nap(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    Ok(())
}

fn main() {}
