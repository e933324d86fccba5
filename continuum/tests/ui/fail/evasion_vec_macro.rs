// `Instant::now()` inside `vec![…]`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _v = vec![std::time::Instant::now()];
    Ok(())
}

fn main() {}
