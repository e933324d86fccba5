// `std::time::SystemTime::now()` reads the wall clock.
use continuum::prelude::*;

#[workflow]
async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = std::time::SystemTime::now();
    Ok(())
}

fn main() {}
