// a function named `spawn` declared inside the body is the user's own.
use continuum::prelude::*;

#[workflow]
async fn doubled(_ctx: &WorkflowContext, n: u32) -> Result<u32, WorkflowError> {
    fn spawn(n: u32) -> u32 {
        n * 2
    }
    Ok(spawn(n))
}

fn main() {}
