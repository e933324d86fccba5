// `std::sync::Condvar::new()` waits on a condition the journal does not see.
use continuum::prelude::*;

#[workflow]
async fn piped(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _cv = std::sync::Condvar::new();
    Ok(())
}

fn main() {}
