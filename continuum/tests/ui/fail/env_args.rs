// `std::env::args` reads the process arguments.
use continuum::prelude::*;

#[workflow]
async fn configured(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _n = std::env::args().count();
    Ok(())
}

fn main() {}
