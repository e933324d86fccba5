// `time::Instant::now()` after an in-body `use std::time;`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::time;
    let _t = time::Instant::now();
    Ok(())
}

fn main() {}
