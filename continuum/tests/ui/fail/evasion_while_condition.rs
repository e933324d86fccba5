// `SystemTime::now()` inside a `while` condition.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    while std::time::SystemTime::now() < std::time::UNIX_EPOCH {}
    Ok(())
}

fn main() {}
