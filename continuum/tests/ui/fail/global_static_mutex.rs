// a `static` `Mutex` declared in the body is global mutable state.
use continuum::prelude::*;

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    static M: std::sync::Mutex<u32> = std::sync::Mutex::new(0);
    Ok(())
}

fn main() {}
