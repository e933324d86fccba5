// `std::fs::File::open` touches the file system.
use continuum::prelude::*;

#[workflow]
async fn loaded(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _f = std::fs::File::open("orders.json");
    Ok(())
}

fn main() {}
