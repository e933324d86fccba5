// `std::env::current_dir` reads the working directory.
use continuum::prelude::*;

#[workflow]
async fn configured(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _d = std::env::current_dir();
    Ok(())
}

fn main() {}
