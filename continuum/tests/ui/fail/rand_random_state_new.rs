// `std::collections::hash_map::RandomState::new()` draws random hash keys.
use continuum::prelude::*;

#[workflow]
async fn keyed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = std::collections::hash_map::RandomState::new();
    Ok(())
}

fn main() {}
