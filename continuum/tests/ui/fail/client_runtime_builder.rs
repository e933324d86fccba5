// `continuum::Runtime::builder()` inside a workflow is the client, not an effect.
use continuum::prelude::*;

#[workflow]
async fn nested(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _b = continuum::Runtime::builder();
    Ok(())
}

fn main() {}
