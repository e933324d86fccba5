// `chrono::Utc::now` passed as a function value to `unwrap_or_else`.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _t: chrono::DateTime<chrono::Utc> = None.unwrap_or_else(chrono::Utc::now);
    Ok(())
}

fn main() {}
