// `rand::random::<u64>()` draws randomness.
use continuum::prelude::*;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _n = rand::random::<u64>();
    Ok(())
}

fn main() {}
