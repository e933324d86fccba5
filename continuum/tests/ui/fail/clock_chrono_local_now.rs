// `chrono::Local::now()` reads the wall clock.
use continuum::prelude::*;

#[workflow]
async fn stamp(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t = chrono::Local::now();
    Ok(())
}

fn main() {}
