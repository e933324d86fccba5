// an unmarked helper: a deprecation *warning* under plain `#[workflow]`, an *error* under `#[workflow(strict)]`.
use continuum::prelude::*;

fn helper() -> u32 {
    1
}

#[workflow]
async fn lenient(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    Ok(helper())
}

#[workflow(strict)]
async fn enforced(_ctx: &WorkflowContext, _: ()) -> Result<u32, WorkflowError> {
    Ok(helper())
}

fn main() {}
