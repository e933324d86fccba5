// a local variable named `env` is not `std::env`.
use continuum::prelude::*;

#[workflow]
async fn configured(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    let env = 3;
    Ok(env + 1)
}

fn main() {}
