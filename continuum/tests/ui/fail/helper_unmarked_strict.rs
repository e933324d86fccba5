// `#[workflow(strict)]` rejects a call to a file-level helper that is not `#[pure]`.
use continuum::prelude::*;

fn helper() -> u32 {
    1
}

#[workflow(strict)]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    Ok(helper())
}

fn main() {}
