// `chrono::Local::now().date_naive()` reads today's date from the wall clock.
use continuum::prelude::*;

#[workflow]
async fn dated(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _d = chrono::Local::now().date_naive();
    Ok(())
}

fn main() {}
