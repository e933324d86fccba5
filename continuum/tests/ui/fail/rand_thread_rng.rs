// the deprecated `rand::thread_rng()` is still randomness.
use continuum::prelude::*;

#[workflow]
async fn roll(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    #[allow(deprecated)]
    let _r = rand::thread_rng();
    Ok(())
}

fn main() {}
