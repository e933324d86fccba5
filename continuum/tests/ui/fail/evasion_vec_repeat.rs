// `Instant::now()` inside the `vec![x; n]` form.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _v = vec![std::time::Instant::now(); 2];
    Ok(())
}

fn main() {}
