// `thread_local!` in the body is global mutable state.
use continuum::prelude::*;

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    thread_local! {
        static SEEN: u32 = 0;
    }
    Ok(())
}

fn main() {}
