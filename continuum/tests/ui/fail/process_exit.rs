// `std::process::exit` ends the OS process instead of the workflow.
use continuum::prelude::*;

#[workflow]
async fn shelled(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    if false {
        std::process::exit(1);
    }
    Ok(())
}

fn main() {}
