// a `std::collections::hash_map::RandomState` type annotation.
use continuum::prelude::*;

#[workflow]
async fn indexed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s: std::collections::hash_map::RandomState = Default::default();
    Ok(())
}

fn main() {}
