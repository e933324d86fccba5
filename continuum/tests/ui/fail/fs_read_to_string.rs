// `std::fs::read_to_string` touches the file system.
use continuum::prelude::*;

#[workflow]
async fn loaded(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = std::fs::read_to_string("orders.json");
    Ok(())
}

fn main() {}
