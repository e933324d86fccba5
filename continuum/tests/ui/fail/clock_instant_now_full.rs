// `std::time::Instant::now()` reads the monotonic clock.
use continuum::prelude::*;

#[workflow]
async fn timed(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = std::time::Instant::now();
    Ok(())
}

fn main() {}
