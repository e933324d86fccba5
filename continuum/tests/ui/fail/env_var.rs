// `std::env::var` reads the process environment.
use continuum::prelude::*;

#[workflow]
async fn configured(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _v = std::env::var("REGION");
    Ok(())
}

fn main() {}
