// `SystemTime::now()` inside `assert!`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    assert!(std::time::SystemTime::now() > std::time::UNIX_EPOCH);
    Ok(())
}

fn main() {}
