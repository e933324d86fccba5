// `Instant::now()` inside an `if let` scrutinee.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    if let Some(_t) = Some(std::time::Instant::now()) {}
    Ok(())
}

fn main() {}
