// a user function named `random`, called as `crate::random()`, is not randomness.
use continuum::prelude::*;

#[pure]
fn random() -> u64 {
    4
}

#[workflow]
async fn rolled(_ctx: &WorkflowContext, _: ()) -> Result<u64, WorkflowError> {
    Ok(crate::random())
}

fn main() {}
