// `#[pure(foo)]`: `#[pure]` takes no arguments.
use continuum::prelude::*;

#[pure(foo)]
fn helper() -> u32 {
    1
}

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    Ok(helper())
}

fn main() {}
