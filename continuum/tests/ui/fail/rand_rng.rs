// `rand::rng()` creates a thread-local RNG.
use continuum::prelude::*;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _r = rand::rng();
    Ok(())
}

fn main() {}
