// a `static` `OnceLock` declared in the body is global mutable state.
use continuum::prelude::*;

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    static CELL: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    Ok(())
}

fn main() {}
