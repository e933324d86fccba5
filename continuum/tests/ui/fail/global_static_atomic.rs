// a `static` atomic declared in the body is global mutable state.
use continuum::prelude::*;

#[workflow]
async fn counted(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    Ok(())
}

fn main() {}
