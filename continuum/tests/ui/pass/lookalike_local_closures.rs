// local closures named `spawn` and `sleep` are the user's own.
use continuum::prelude::*;

#[workflow]
async fn doubled(_ctx: &WorkflowContext, n: u64) -> Result<u64, WorkflowError> {
    let spawn = |x: u64| x + 1;
    let sleep = |d: std::time::Duration| d.as_secs();
    Ok(spawn(n) + sleep(std::time::Duration::from_secs(2)))
}

fn main() {}
