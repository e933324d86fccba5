// a rename inside a group: `use std::time::{Duration, Instant as I};` then `I::now()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::time::{Duration, Instant as I};
    let _d = Duration::from_secs(1);
    let _t = I::now();
    Ok(())
}

fn main() {}
