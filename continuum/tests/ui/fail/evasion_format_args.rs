// `Instant::now()` inside `format!` arguments.
use continuum::prelude::*;

#[workflow]
async fn sneaky(_ctx: &WorkflowContext, _: ()) -> Result<(), WorkflowError> {
    let _s = format!("{:?}", std::time::Instant::now());
    Ok(())
}

fn main() {}
