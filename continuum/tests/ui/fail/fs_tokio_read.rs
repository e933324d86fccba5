// `tokio::fs::read` touches the file system.
use continuum::prelude::*;

#[workflow]
async fn loaded(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _b = tokio::fs::read("orders.json").await;
    Ok(())
}

fn main() {}
