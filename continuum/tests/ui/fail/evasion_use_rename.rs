// an in-body rename `use std::time::Instant as Clock;` then `Clock::now()`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    use std::time::Instant as Clock;
    let _t = Clock::now();
    Ok(())
}

fn main() {}
