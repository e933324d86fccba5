// a `static mut` declared in the body is global mutable state.
use continuum::prelude::*;

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    static mut COUNTER: u32 = 0;
    Ok(())
}

fn main() {}
