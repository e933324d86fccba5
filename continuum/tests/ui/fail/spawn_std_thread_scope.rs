// `std::thread::scope` starts scoped OS threads.
use continuum::prelude::*;

#[workflow]
async fn fan_out(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    std::thread::scope(|_s| {});
    Ok(())
}

fn main() {}
