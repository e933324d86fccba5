// `std::process::id` reads the OS process id.
use continuum::prelude::*;

#[workflow]
async fn shelled(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _pid = std::process::id();
    Ok(())
}

fn main() {}
